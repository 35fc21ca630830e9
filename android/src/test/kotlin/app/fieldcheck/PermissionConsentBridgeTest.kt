package app.fieldcheck

import app.fieldcheck.Fixtures.HQ_LAT
import app.fieldcheck.Fixtures.HQ_LON
import app.fieldcheck.Fixtures.T0
import app.fieldcheck.Fixtures.admin
import app.fieldcheck.Fixtures.agent
import app.fieldcheck.PermissionConsentBridge.Companion.locationState
import app.fieldcheck.core.ConsentSource
import app.fieldcheck.core.OsPermission.APPROXIMATE_ONLY
import app.fieldcheck.core.OsPermission.DENIED
import app.fieldcheck.core.OsPermission.GRANTED
import app.fieldcheck.core.Permission
import app.fieldcheck.core.Reason
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Test

/** The bridge passes platform states to the core; the ledger shows what the core made of them. */
class PermissionConsentBridgeTest {
    private val dir = Fixtures.tempDir("bridge")
    private val clock = MutableClock(T0)
    private val a1 = agent("a1")

    @After
    fun cleanUp() = dir.deleteTree()

    private suspend fun open(): FieldCheckClient =
        FieldCheckClient.open(File(dir, "b.db").path, FixedLocationSource(HQ_LAT, HQ_LON, clock = clock), clock).also {
            it.withCore { now -> importSites(admin, Fixtures.SITES, now) }
        }

    @Test
    fun androidGrantsMapToPlatformStates() {
        assertEquals(GRANTED, locationState(fine = true, coarse = true))
        assertEquals(GRANTED, locationState(fine = true, coarse = false))
        assertEquals(APPROXIMATE_ONLY, locationState(fine = false, coarse = true))
        assertEquals(DENIED, locationState(fine = false, coarse = false))
    }

    @Test
    fun theOsAloneNeverGrantsConsent() = runBlocking<Unit> {
        open().use { c ->
            val bridge = PermissionConsentBridge(c)
            assertNull(bridge.onLocationPermission(a1, GRANTED))
            assertNull(bridge.onLocationPermission(a1, DENIED))
            assertEquals(emptyList(), c.consentHistory(a1))
            assertEquals(listOf(Reason.CONSENT_REQUIRED), c.checkIn(a1).reasons)
        }
    }

    @Test
    fun osChangesBecomeOsSettingsEntriesOnce() = runBlocking<Unit> {
        open().use { c ->
            val bridge = PermissionConsentBridge(c)
            c.setConsent(a1, Permission.LOCATION, true)
            assertNull(bridge.onLocationPermission(a1, GRANTED), "the ledger already agrees")
            assertTrue(c.checkIn(a1).accepted)

            // Approximate only withdraws consent for attendance, once.
            val withdrawal = assertNotNull(bridge.onLocationPermission(a1, APPROXIMATE_ONLY))
            assertFalse(withdrawal.granted)
            assertEquals(ConsentSource.OS_SETTINGS, withdrawal.source)
            assertNull(bridge.onLocationPermission(a1, APPROXIMATE_ONLY), "same state, no new entry")
            assertNull(bridge.onLocationPermission(a1, DENIED))
            assertEquals(listOf(Reason.CONSENT_REQUIRED), c.checkOut(a1).reasons)

            // Precise location again restores what the OS took away.
            val restored = assertNotNull(bridge.onLocationPermission(a1, GRANTED))
            assertTrue(restored.granted)
            assertEquals(ConsentSource.OS_SETTINGS, restored.source)
            assertNull(bridge.onLocationPermission(a1, GRANTED))
            assertEquals(
                listOf(ConsentSource.APP to true, ConsentSource.OS_SETTINGS to false, ConsentSource.OS_SETTINGS to true),
                c.consentHistory(a1).map { it.source to it.granted },
            )
        }
    }

    @Test
    fun anInAppWithdrawalIsNeverOverriddenByTheOs() = runBlocking<Unit> {
        open().use { c ->
            val bridge = PermissionConsentBridge(c)
            c.setConsent(a1, Permission.LOCATION, true)
            c.setConsent(a1, Permission.LOCATION, false)
            assertNull(bridge.onLocationPermission(a1, GRANTED), "the agent's withdrawal stands")
            assertEquals(listOf(ConsentSource.APP, ConsentSource.APP), c.consentHistory(a1).map { it.source })
            assertEquals(listOf(Reason.CONSENT_REQUIRED), c.checkIn(a1).reasons)
        }
    }

    @Test
    fun turningNotificationsOffWithdrawsPushConsentAndDeletesTheToken() = runBlocking<Unit> {
        open().use { c ->
            val bridge = PermissionConsentBridge(c)
            c.setConsent(a1, Permission.PUSH, true)
            c.registerPushToken(a1, "fcm-token")
            assertNull(bridge.onNotificationPermission(a1, allowed = true))
            assertEquals("fcm-token", c.pushToken(a1))
            assertNotNull(bridge.onNotificationPermission(a1, allowed = false))
            assertNull(c.pushToken(a1))
        }
    }

    @Test
    fun concurrentReportsOfOneChangeAppendOneEntry() = runBlocking<Unit> {
        open().use { c ->
            val bridge = PermissionConsentBridge(c)
            c.setConsent(a1, Permission.LOCATION, true)
            val entries = (1..16).map { async(Dispatchers.Default) { bridge.onLocationPermission(a1, DENIED) } }.awaitAll()
            assertEquals(1, entries.count { it != null })
            assertEquals(2, c.consentHistory(a1).size)
        }
    }
}
