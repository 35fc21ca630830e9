package app.fieldcheck

import app.fieldcheck.BackgroundSync.SyncRound
import app.fieldcheck.Fixtures.HQ_LAT
import app.fieldcheck.Fixtures.HQ_LON
import app.fieldcheck.Fixtures.admin
import app.fieldcheck.Fixtures.agent
import app.fieldcheck.Fixtures.instant
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.Permission
import app.fieldcheck.core.softwareKeystore
import app.fieldcheck.net.OkHttpTransport
import java.io.File
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.milliseconds
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Test

/**
 * [BackgroundSync]: woken by check-ins against the real server over
 * OkHttp (push, decisions back, stop on revocation), and its backoff and
 * offline rounds against a scripted transport. Waits are bounded: a round
 * that never comes fails the test after 20 s.
 */
class BackgroundSyncTest {
    private val dir = Fixtures.tempDir("background-sync")
    private val a1 = agent("a1")
    private val clock = MutableClock(instant("2026-03-02T01:00:00Z"))
    private val client = runBlocking {
        FieldCheckClient.open(File(dir, "device.db").path, FixedLocationSource(HQ_LAT, HQ_LON, clock = clock), clock).also {
            it.withCore { now -> importSites(admin, Fixtures.SITES, now) }
            it.setConsent(a1, Permission.LOCATION, true)
        }
    }
    private val rounds = LinkedBlockingQueue<SyncRound>()
    private var server: TestServer? = null

    @After
    fun close() {
        client.close()
        server?.stop()
        dir.deleteTree()
    }

    private fun nextRound(): SyncRound = assertNotNull(rounds.poll(20, TimeUnit.SECONDS), "no sync round within 20 s")

    @Test
    fun checkInsWakeTheLoopDecisionsComeBackAndRevocationEndsIt() = runBlocking<Unit> {
        val real = TestServer(dir).also { server = it }
        val transport = OkHttpTransport()
        val keystore = softwareKeystore()
        // Enrolled from the console's link, as a scanned QR code gives it.
        assertFailsWith<FieldCheckException.InvalidInput> {
            client.enrolWithLink("https://example.com/?code=x", keystore, transport)
        }
        val server = java.net.URLEncoder.encode(real.url, "UTF-8")
        client.enrolWithLink("fieldcheck://enrol?server=$server&code=${real.enrolCode("a1")}", keystore, transport)
        // An hour between timed rounds: within this test only check-ins wake it.
        val sync = BackgroundSync(client, keystore, transport, interval = 1.hours, onRound = { rounds += it })
        val loop = async(Dispatchers.Default) { sync.run() }

        assertIs<SyncRound.Synced>(nextRound(), "the first round runs at once")
        val event = client.checkIn(a1)
        val pushed = assertIs<SyncRound.Synced>(nextRound())
        assertEquals(1uL, pushed.push.events)
        assertEquals(1, real.eventCount("a1"))

        real.cli("--actor", "sup-1", "--role", "supervisor", "review", event.id, "--approve", "--note", "ok")
        clock.now = clock.now.plusSeconds(8 * 3600)
        client.checkOut(a1)
        val back = assertIs<SyncRound.Synced>(nextRound())
        assertEquals(1uL, back.pull.decisions)
        assertEquals("approved", client.reviews(a1).single().decision)

        val device = (Json.parse(real.cli("--json", "device", "list").lines().first { it.isNotBlank() }) as Map<*, *>)["device_id"] as String
        real.cli("device", "revoke", "--device", device)
        client.checkIn(a1)
        val stopped = assertIs<SyncRound.Stopped>(nextRound())
        assertEquals(403, stopped.error.status.toInt())
        assertEquals("revoked-device", stopped.error.problem)
        assertEquals(stopped, loop.await(), "run() returns the refusal")
        assertEquals(1L, client.syncStatus(admin).pending, "the refused check-in stays in the outbox")
    }

    /**
     * What the server decides reaches the phone: a flag set on the server (the
     * CLI on its store) arrives with the next round, and the next check-in
     * under it keeps its coordinates, which the following round sends to the
     * server. The device clock is the real one, like the server's.
     */
    @Test
    fun aFlagSetOnTheServerReachesThePhoneThroughBackgroundSync() = runBlocking<Unit> {
        val real = TestServer(dir).also { server = it }
        val sites = File(dir, "sites.geojson").apply { writeText(Fixtures.SITES) }
        real.cli("site", "import", sites.path)
        val now = MutableClock(java.time.Instant.now())
        FieldCheckClient.open(File(dir, "flagged.db").path, FixedLocationSource(HQ_LAT, HQ_LON, clock = now), now).use { phone ->
            phone.setConsent(a1, Permission.LOCATION, true)
            val transport = OkHttpTransport()
            val keystore = softwareKeystore()
            phone.enrol(real.url, real.enrolCode("a1"), keystore, transport)
            val until = java.time.Instant.now().plus(java.time.Duration.ofDays(2)).toString()
            real.cli("audit", "flag", "--agent", "a1", "--purpose", "security", "--reason", "mock location suspected", "--until", until)
            // The phone's clock reads after the flag began, as a real phone's would.
            now.now = java.time.Instant.now()
            val sync = BackgroundSync(phone, keystore, transport, interval = 1.hours)
            val round = assertIs<SyncRound.Synced>(sync.runOnce())
            assertEquals(listOf("flag"), round.pull.configKinds)
            val flags = phone.flagsCovering(a1)
            assertEquals("mock location suspected", flags.single().reason)

            // The fix comes after the flag was set (on the server's clock too).
            now.now = java.time.Instant.now()
            val event = phone.checkIn(a1)
            assertTrue(event.accepted)
            assertTrue(event.locationRetained, "kept under the server's flag")
            assertIs<SyncRound.Synced>(sync.runOnce())
            val onServer = real.cli("--json", "events", "--agent", "a1").lines().filter { it.isNotBlank() }
            assertEquals(1, onServer.size)
            assertTrue("\"location_retained\":true" in onServer[0], onServer[0])
        }
    }

    @Test
    fun failedRoundsBackOffDoublingUpToTheCapAndASuccessResetsIt() = runBlocking<Unit> {
        val server = ScriptedServer(refusals = List(4) { 404 }) // a 404 the core does not retry
        val keystore = softwareKeystore()
        client.enrol("https://flaky.invalid", "CODE", keystore, server)
        val sync = BackgroundSync(
            client, keystore, server,
            interval = 1.hours, firstBackoff = 10.milliseconds, maxBackoff = 40.milliseconds,
            onRound = { rounds += it },
        )
        val loop = async(Dispatchers.Default) { sync.run() }
        val waits = (1..4).map { assertIs<SyncRound.Failed>(nextRound()).retryIn }
        assertEquals(listOf(10, 20, 40, 40).map { it.milliseconds }, waits)
        assertIs<SyncRound.Synced>(nextRound())
        assertEquals(0L, client.syncStatus(admin).pending)
        assertEquals(5, server.batches().size)

        // After a success the next failure starts from the first backoff again.
        server.refuse(404)
        client.checkIn(a1)
        assertEquals(10.milliseconds, assertIs<SyncRound.Failed>(nextRound()).retryIn)
        assertIs<SyncRound.Synced>(nextRound())
        loop.cancel()
    }

    @Test
    fun offlineRoundsTryNothing() = runBlocking<Unit> {
        val server = ScriptedServer()
        val keystore = softwareKeystore()
        client.enrol("https://flaky.invalid", "CODE", keystore, server)
        var online = false
        val sync = BackgroundSync(client, keystore, server, isOnline = { online })
        client.checkIn(a1)
        assertEquals(SyncRound.Offline, sync.runOnce())
        assertEquals(0, server.batches().size)
        online = true
        assertIs<SyncRound.Synced>(sync.runOnce())
        assertEquals(0L, client.syncStatus(admin).pending)
    }

    @Test
    fun aStoreThatIsNotEnrolledCannotRunTheLoop() = runBlocking<Unit> {
        val sync = BackgroundSync(client, softwareKeystore(), ScriptedServer())
        val e = runCatching { sync.run() }.exceptionOrNull()
        assertIs<IllegalStateException>(e)
        assertTrue("not enrolled" in e.message!!)
    }
}
