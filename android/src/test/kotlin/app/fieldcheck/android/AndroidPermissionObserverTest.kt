package app.fieldcheck.android

import android.Manifest
import android.app.Activity
import android.app.NotificationManager
import android.os.Build
import app.fieldcheck.FieldCheckClient
import app.fieldcheck.FixedLocationSource
import app.fieldcheck.Fixtures
import app.fieldcheck.Fixtures.HQ_LAT
import app.fieldcheck.Fixtures.HQ_LON
import app.fieldcheck.Fixtures.agent
import app.fieldcheck.MutableClock
import app.fieldcheck.PermissionConsentBridge
import app.fieldcheck.core.ConsentEntry
import app.fieldcheck.core.ConsentSource
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.Permission
import app.fieldcheck.deleteTree
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.annotation.ConscryptMode

/**
 * [AndroidPermissionObserver] on Robolectric's framework: the platform's
 * grants as the app would find them on resuming an activity, reported to
 * the core, which alone decides what the consent ledger records (source
 * `os_settings`). The shell maps states; it decides nothing.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [29, 35])
@ConscryptMode(ConscryptMode.Mode.OFF)
class AndroidPermissionObserverTest {
    private val app = RuntimeEnvironment.getApplication()
    private val dir = Fixtures.tempDir("android-permissions")
    private val a1 = agent("a1")
    private val clock = MutableClock(Fixtures.T0)
    private val client = runBlocking {
        FieldCheckClient.open(File(dir, "store.db").path, FixedLocationSource(HQ_LAT, HQ_LON, clock = clock), clock)
    }
    private val job = SupervisorJob()
    private val observer = AndroidPermissionObserver(
        app,
        PermissionConsentBridge(client),
        CoroutineScope(job + Dispatchers.Default),
        signedIn = { a1 },
    ).also { app.registerActivityLifecycleCallbacks(it) }

    @After
    fun close() {
        app.unregisterActivityLifecycleCallbacks(observer)
        client.close()
        dir.deleteTree()
    }

    private fun grant(vararg permissions: String) = shadowOf(app).grantPermissions(*permissions)
    private fun deny(vararg permissions: String) = shadowOf(app).denyPermissions(*permissions)

    /** The user returns to the app: an activity resumes; waits for what it reported. */
    private fun resume(): List<ConsentEntry> = runBlocking {
        val before = client.consentHistory(a1).size
        Robolectric.buildActivity(Activity::class.java).create().start().resume()
        job.children.forEach { it.join() }
        client.consentHistory(a1).drop(before)
    }

    private fun ConsentEntry.brief() = "${permission.name.lowercase()} ${if (granted) "granted" else "withdrawn"} by ${source.name.lowercase()}"

    @Test
    fun locationGrantsReachTheLedgerOnlyWhereTheyDisagreeWithIt() = runBlocking<Unit> {
        client.setConsent(a1, Permission.LOCATION, true)
        grant(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)
        assertEquals(listOf(), resume().map { it.brief() }, "fine granted: the ledger agrees")

        // Revoked in Settings.
        deny(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)
        assertEquals(listOf("location withdrawn by os_settings"), resume().map { it.brief() })
        assertEquals(listOf(), resume().map { it.brief() }, "reporting the same state again appends nothing")

        // Approximate only: not enough for attendance, so nothing is given back.
        grant(Manifest.permission.ACCESS_COARSE_LOCATION)
        assertEquals(listOf(), resume().map { it.brief() })
        assertEquals(false, client.consentState(a1).location?.granted == true)

        // Precise again: the core restores what the OS took, under the same policy version.
        grant(Manifest.permission.ACCESS_FINE_LOCATION)
        val restored = resume()
        assertEquals(listOf("location granted by os_settings"), restored.map { it.brief() })
        assertEquals(ConsentSource.OS_SETTINGS, restored.single().source)
        assertEquals(true, client.consentState(a1).location?.granted)
    }

    @Test
    fun theOsNeverGrantsConsentTheAgentHasNotGiven() {
        grant(Manifest.permission.ACCESS_FINE_LOCATION)
        assertEquals(listOf(), resume().map { it.brief() })
        assertNull(runBlocking { client.consentState(a1).location })
    }

    @Test
    fun pushTokensAreKeptOnlyUnderPushConsent() = runBlocking<Unit> {
        assertFailsWith<FieldCheckException.PermissionDenied> { client.registerPushToken(a1, "fcm-token-1") }
        client.setConsent(a1, Permission.PUSH, true)
        // Android 13+ asks at run time; below it the app's notification switch is all there is.
        if (Build.VERSION.SDK_INT >= 33) grant(Manifest.permission.POST_NOTIFICATIONS)
        client.registerPushToken(a1, "fcm-token-1")
        assertEquals("fcm-token-1", client.pushToken(a1))

        // Notifications switched off for the app: push consent is withdrawn and the token deleted.
        shadowOf(app.getSystemService(NotificationManager::class.java)).setNotificationsEnabled(false)
        assertEquals(listOf("push withdrawn by os_settings"), resume().map { it.brief() })
        assertNull(client.pushToken(a1))
        assertFailsWith<FieldCheckException.PermissionDenied> { client.registerPushToken(a1, "fcm-token-2") }
    }
}
