package app.fieldcheck.android

import android.Manifest
import android.location.Location
import android.location.LocationManager
import android.os.Build
import android.os.Looper
import android.os.SystemClock
import app.fieldcheck.FieldCheckClient
import app.fieldcheck.Fixtures
import app.fieldcheck.Fixtures.HQ_LAT
import app.fieldcheck.Fixtures.HQ_LON
import app.fieldcheck.Fixtures.admin
import app.fieldcheck.Fixtures.agent
import app.fieldcheck.LocationException
import app.fieldcheck.LocationSource
import app.fieldcheck.MutableClock
import app.fieldcheck.Repo
import app.fieldcheck.ScenarioTest
import app.fieldcheck.Scenarios
import app.fieldcheck.TraceSource
import app.fieldcheck.core.Fix
import app.fieldcheck.core.Permission
import app.fieldcheck.core.Reason
import app.fieldcheck.deleteTree
import java.io.File
import java.time.Duration as JavaDuration
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlin.test.fail
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.annotation.ConscryptMode
import org.robolectric.shadows.ShadowLocationManager
import org.robolectric.shadows.ShadowSystemClock

/**
 * [AndroidLocationSource] on the Android framework as Robolectric runs it,
 * fed by [ShadowLocationManager]: on API 35 (getCurrentLocation,
 * Location.isMock) and API 29 (requestSingleUpdate, isFromMockProvider).
 * Every shared scenario is replayed with each fix delivered through the
 * platform, so what the shell reads off a [Location] (accuracy as a float,
 * age on the elapsed-realtime clock, the mock flag) ends in exactly the
 * verdict the scenario expects.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [29, 35])
@ConscryptMode(ConscryptMode.Mode.OFF)
class AndroidLocationSourceTest {
    private val app = RuntimeEnvironment.getApplication()
    private val manager = app.getSystemService(LocationManager::class.java)
    private val platform: ShadowLocationManager = shadowOf(manager)
    private val dir = Fixtures.tempDir("android-location")

    @Before
    fun enableGps() {
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_FINE_LOCATION)
        platform.setProviderEnabled(LocationManager.GPS_PROVIDER, true)
        // Some elapsed-realtime history, so that fixes can be old.
        ShadowSystemClock.advanceBy(JavaDuration.ofDays(1))
    }

    @After
    fun clean() = dir.deleteTree()

    /**
     * The platform's answer to one request: [fix] as a [Location] whose age
     * on the elapsed-realtime clock is the fix's age on [clock].
     */
    private fun location(fix: Fix, clock: MutableClock) = Location(LocationManager.GPS_PROVIDER).apply {
        latitude = fix.lat
        longitude = fix.lon
        accuracy = fix.accuracyM.toFloat()
        time = fix.capturedAt.toEpochMilli()
        val age = JavaDuration.between(fix.capturedAt, clock.instant()).toNanos()
        elapsedRealtimeNanos = SystemClock.elapsedRealtimeNanos() - age
        if (Build.VERSION.SDK_INT >= 31) {
            isMock = fix.isMock
        } else {
            // The pre-31 setter is hidden API; the flag is what isFromMockProvider() reads.
            Location::class.java.getMethod("setIsFromMockProvider", Boolean::class.java).invoke(this, fix.isMock)
        }
    }

    /** Hands each request of [source] the next fix of the trace, through the platform. */
    private inner class PlatformFed(private val trace: ArrayDeque<Fix>, private val clock: MutableClock) : TraceSource {
        private val source = AndroidLocationSource(app, clock = clock)
        override val remaining get() = trace.size

        override suspend fun currentFix(timeout: Duration): Fix = coroutineScope {
            // Past the shadow's reuse window for the last known fix: every request waits for a new one.
            ShadowSystemClock.advanceBy(JavaDuration.ofHours(1))
            val request = async(start = CoroutineStart.UNDISPATCHED) { source.currentFix(timeout) }
            platform.simulateLocation(location(trace.removeFirst(), clock))
            shadowOf(Looper.getMainLooper()).idle() // API < 30 answers on the main looper
            request.await()
        }
    }

    @Test
    fun everySharedScenarioEndsInItsVerdictThroughThePlatform() {
        val mismatches = ScenarioTest.files().flatMap { file ->
            Scenarios.replay(file) { trace, clock -> PlatformFed(ArrayDeque(trace), clock) }.map { "${file.name}: $it" }
        }
        assertTrue(ScenarioTest.files().size >= 10, "scenarios in ${Repo.scenarios}")
        if (mismatches.isNotEmpty()) fail("API ${Build.VERSION.SDK_INT}:\n" + mismatches.joinToString("\n"))
    }

    private fun client(clock: MutableClock, source: LocationSource) = runBlocking {
        FieldCheckClient.open(File(dir, "store.db").path, source, clock).also {
            it.withCore { now -> importSites(admin, Fixtures.SITES, now) }
            it.setConsent(agent("a1"), Permission.LOCATION, true)
        }
    }

    @Test
    fun aFreshFixIsAcceptedAStaleOneIsRejectedAsStale() = runBlocking<Unit> {
        val clock = MutableClock(Fixtures.T0)
        val trace = ArrayDeque(
            listOf(
                Fix(HQ_LAT, HQ_LON, 8.0, clock.instant().minusSeconds(3), false),
                Fix(HQ_LAT, HQ_LON, 8.0, clock.instant().minusSeconds(600), false),
            ),
        )
        client(clock, PlatformFed(trace, clock)).use { c ->
            val fresh = c.checkIn(agent("a1"))
            assertTrue(fresh.accepted, "fresh: ${fresh.reasons}")
            assertEquals(Fixtures.T0.minusSeconds(3), fresh.capturedAt)
            val stale = c.checkOut(agent("a1"))
            assertEquals(listOf(Reason.STALE_FIX), stale.reasons)
        }
    }

    @Test
    fun aMockFixIsFlaggedAndRejected() = runBlocking<Unit> {
        val clock = MutableClock(Fixtures.T0)
        val trace = ArrayDeque(listOf(Fix(HQ_LAT, HQ_LON, 5.0, clock.instant(), true)))
        client(clock, PlatformFed(trace, clock)).use { c ->
            assertEquals(listOf(Reason.MOCK_LOCATION), c.checkIn(agent("a1")).reasons)
        }
    }

    @Test
    fun noFixWithinTheTimeoutRecordsNothing() = runBlocking<Unit> {
        val clock = MutableClock(Fixtures.T0)
        val source = AndroidLocationSource(app, clock = clock)
        client(clock, source).use { c ->
            val before = c.verify().eventsChecked
            assertFailsWith<LocationException.Timeout> { c.checkIn(agent("a1"), fixTimeout = 50.milliseconds) }
            assertEquals(before, c.verify().eventsChecked)
            assertEquals(0, c.events(agent("a1")).size)
        }
    }

    @Test
    fun aDisabledProviderIsUnavailable() = runBlocking<Unit> {
        platform.setProviderEnabled(LocationManager.GPS_PROVIDER, false)
        val source = AndroidLocationSource(app, clock = MutableClock(Fixtures.T0))
        val e = assertFailsWith<LocationException.Unavailable> { source.currentFix(1.seconds) }
        assertEquals("gps is off", e.reason)
    }
}
