package app.fieldcheck

import app.fieldcheck.Fixtures.HQ_LAT
import app.fieldcheck.Fixtures.HQ_LON
import app.fieldcheck.Fixtures.T0
import app.fieldcheck.Fixtures.admin
import app.fieldcheck.Fixtures.agent
import app.fieldcheck.Fixtures.supervisor
import app.fieldcheck.core.EventKind
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.Fix
import app.fieldcheck.core.FlagPurpose
import app.fieldcheck.core.FlagRequest
import app.fieldcheck.core.FlagScope
import app.fieldcheck.core.Permission
import app.fieldcheck.core.Reason
import java.io.File
import java.util.concurrent.Executors
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Test

class FacadeTest {
    private val dir = Fixtures.tempDir("facade")
    private val clock = MutableClock(T0)
    private val a1 = agent("a1")

    @After
    fun cleanUp() = dir.deleteTree()

    private suspend fun open(location: LocationSource): FieldCheckClient {
        val c = FieldCheckClient.open(File(dir, "f.db").path, location, clock)
        c.withCore { now -> importSites(admin, Fixtures.SITES, now) }
        c.setConsent(a1, Permission.LOCATION, true)
        return c
    }

    @Test
    fun eachCheckTakesOneFixAndPassesItUnchanged() = runBlocking<Unit> {
        val trace = listOf(
            Fix(HQ_LAT, HQ_LON, 8.0, T0.minusSeconds(10), false),
            Fix(HQ_LAT, HQ_LON, 8.0, T0, true),
        )
        val location = SimulatedLocationSource(trace)
        open(location).use { c ->
            val first = c.checkIn(a1)
            assertEquals(1, location.remaining)
            assertEquals(EventKind.CHECK_IN, first.kind)
            assertEquals(T0.minusSeconds(10), first.capturedAt)
            assertEquals(T0, first.recordedAt)
            assertEquals(listOf(), first.reasons)
            assertEquals("jkt-hq", first.siteId)
            // The mock flag reaches the core, which judges it.
            val second = c.checkOut(a1)
            assertEquals(EventKind.CHECK_OUT, second.kind)
            assertEquals(listOf(Reason.MOCK_LOCATION), second.reasons)
            assertEquals(0, location.remaining)
        }
    }

    @Test
    fun noFixMeansNoCoreCall() = runBlocking<Unit> {
        val slow = SimulatedLocationSource(listOf(Fix(HQ_LAT, HQ_LON, 8.0, T0, false)), latency = 5.seconds)
        open(slow).use { c ->
            val e = assertFailsWith<LocationException.Timeout> { c.checkIn(a1, fixTimeout = 50.milliseconds) }
            assertEquals(50.milliseconds, e.timeout)
            assertEquals(1, slow.remaining, "a timed-out request consumed the fix")
            assertEquals(emptyList(), c.events(a1))
        }
        File(dir, "f.db").delete()
        open(SimulatedLocationSource(emptyList())).use { c ->
            assertFailsWith<LocationException.Unavailable> { c.checkIn(a1) }
            assertEquals(emptyList(), c.events(a1))
        }
    }

    @Test
    fun coreCallsRunOnTheInjectedDispatcher() = runBlocking<Unit> {
        val executor = Executors.newSingleThreadExecutor { r -> Thread(r, "fieldcheck-io") }
        try {
            val core = app.fieldcheck.core.FieldCheck.open(File(dir, "d.db").path)
            FieldCheckClient(core, SimulatedLocationSource(emptyList()), clock, executor.asCoroutineDispatcher()).use { c ->
                assertEquals("fieldcheck-io", c.withCore { Thread.currentThread().name })
                assertEquals(T0, c.withCore { now -> now })
            }
        } finally {
            executor.shutdown()
        }
    }

    @Test
    fun pushTokensAreStoredOnlyUnderPushConsent() = runBlocking<Unit> {
        open(SimulatedLocationSource(emptyList())).use { c ->
            assertFailsWith<FieldCheckException.PermissionDenied> { c.registerPushToken(a1, "fcm-token-1") }
            assertNull(c.pushToken(a1))
            c.setConsent(a1, Permission.PUSH, true)
            c.registerPushToken(a1, "fcm-token-1")
            assertEquals("fcm-token-1", c.pushToken(a1))
            assertFailsWith<FieldCheckException.InvalidInput> { c.registerPushToken(a1, "") }
            assertFailsWith<FieldCheckException.PermissionDenied> { c.registerPushToken(a1, "x", agent = "a2") }
            c.setConsent(a1, Permission.PUSH, false)
            assertNull(c.pushToken(a1), "withdrawing push consent must delete the token")
            assertFailsWith<FieldCheckException.PermissionDenied> { c.registerPushToken(a1, "fcm-token-2") }
        }
    }

    @Test
    fun agentsSeeTheFlagsThatCoverThem() = runBlocking<Unit> {
        open(SimulatedLocationSource(listOf(Fix(HQ_LAT, HQ_LON, 8.0, T0, false)))).use { c ->
            assertEquals(emptyList(), c.flagsCovering(a1))
            val request = FlagRequest(FlagScope.Agent("a1"), FlagPurpose.AUDIT, "routine audit", T0.plusSeconds(86_400))
            assertFailsWith<FieldCheckException.PermissionDenied> { c.setFlag(a1, request) }
            val flag = c.setFlag(supervisor, request)
            assertEquals(listOf(flag), c.flagsCovering(a1))
            assertEquals("routine audit", c.flagsCovering(a1).single().reason)
            assertEquals(emptyList(), c.flagsCovering(agent("a2")))
            assertTrue(c.checkIn(a1).locationRetained)
        }
    }
}
