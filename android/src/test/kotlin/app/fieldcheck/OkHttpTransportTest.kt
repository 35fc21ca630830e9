package app.fieldcheck

import app.fieldcheck.Fixtures.HQ_LAT
import app.fieldcheck.Fixtures.HQ_LON
import app.fieldcheck.Fixtures.admin
import app.fieldcheck.Fixtures.agent
import app.fieldcheck.Fixtures.instant
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.HttpHeader
import app.fieldcheck.core.HttpRequest
import app.fieldcheck.core.Permission
import app.fieldcheck.core.softwareKeystore
import app.fieldcheck.net.OkHttpTransport
import java.io.File
import java.time.Duration
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import mockwebserver3.Dispatcher
import mockwebserver3.MockResponse
import mockwebserver3.MockWebServer
import mockwebserver3.RecordedRequest
import mockwebserver3.SocketEffect
import okhttp3.ConnectionPool
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import org.junit.After
import org.junit.Test

/**
 * [OkHttpTransport] on its own against MockWebServer (statuses, Retry-After,
 * slow and dropped answers), and under the core's sync client against the
 * real fieldcheck-server, through a MockWebServer proxy that injects the
 * faults of a field network: 429, 503, a dropped connection, and a server
 * killed after it committed a batch but before it answered.
 */
class OkHttpTransportTest {
    private val dir = Fixtures.tempDir("okhttp")
    private val mock = MockWebServer().apply { start() }
    private var server: TestServer? = null

    @After
    fun close() {
        mock.close()
        server?.stop()
        dir.deleteTree()
    }

    private fun get(path: String) = HttpRequest("GET", mock.url(path).toString(), listOf(HttpHeader("Accept", "application/json")), ByteArray(0))

    @Test
    fun answersOfAnyStatusAreAnswersWithTheirRetryAfter() {
        mock.enqueue(MockResponse.Builder().code(429).addHeader("Retry-After", "7").body("slow down").build())
        mock.enqueue(MockResponse.Builder().code(503).addHeader("Retry-After", "Fri, 04 Dec 2026 18:00:00 GMT").build())
        mock.enqueue(MockResponse.Builder().code(307).addHeader("Location", "https://elsewhere.invalid/").build())
        mock.enqueue(MockResponse.Builder().code(200).body("{}").build())
        val transport = OkHttpTransport()

        val throttled = transport.exchange(get("/a"))
        assertEquals(429, throttled.status.toInt())
        assertEquals(7uL, throttled.retryAfterS)
        assertEquals("slow down", String(throttled.body))
        val unavailable = transport.exchange(get("/b"))
        assertEquals(503, unavailable.status.toInt())
        assertTrue(unavailable.retryAfterS != null, "an HTTP-date Retry-After is read too")
        assertEquals(307, transport.exchange(get("/c")).status.toInt(), "a redirect is not followed")
        assertEquals(null, transport.exchange(get("/d")).retryAfterS)

        val sent = mock.takeRequest()
        assertEquals("application/json", sent.headers["Accept"])
        assertEquals(4, mock.requestCount)
    }

    @Test
    fun retryAfterIsSecondsOrAnHttpDate() {
        val now = instant("2026-12-04T17:59:50Z")
        assertEquals(120uL, OkHttpTransport.retryAfterSeconds("120", now))
        assertEquals(10uL, OkHttpTransport.retryAfterSeconds("Fri, 04 Dec 2026 18:00:00 GMT", now))
        assertEquals(0uL, OkHttpTransport.retryAfterSeconds("Fri, 04 Dec 2026 17:00:00 GMT", now))
        assertEquals(null, OkHttpTransport.retryAfterSeconds("soon", now))
    }

    @Test
    fun aSlowBodyWithinTheTimeoutsArrivesWhole() {
        val body = "x".repeat(4096)
        mock.enqueue(MockResponse.Builder().body(body).throttleBody(1024, 50, TimeUnit.MILLISECONDS).build())
        assertEquals(body, String(OkHttpTransport().exchange(get("/slow")).body))
    }

    @Test
    fun aStalledOrDroppedAnswerIsUnreachable() {
        mock.enqueue(MockResponse.Builder().headersDelay(2, TimeUnit.SECONDS).body("late").build())
        mock.enqueue(MockResponse.Builder().onResponseStart(SocketEffect.ShutdownConnection).build())
        val impatient = OkHttpTransport(OkHttpTransport.defaultClient(readTimeout = Duration.ofMillis(200)))
        val stalled = assertFailsWith<FieldCheckException.Unreachable> { impatient.exchange(get("/stall")) }
        assertTrue("SocketTimeoutException" in stalled.reason, stalled.reason)
        assertFailsWith<FieldCheckException.Unreachable> { OkHttpTransport().exchange(get("/drop")) }
        mock.close()
        assertFailsWith<FieldCheckException.Unreachable> { OkHttpTransport().exchange(get("/refused")) }
    }

    @Test
    fun nothingIsLoggedOrRedirected() {
        val client = OkHttpTransport.defaultClient()
        assertTrue(client.interceptors.isEmpty() && client.networkInterceptors.isEmpty(), "no interceptor sees bodies or headers")
        assertEquals(false, client.followRedirects)
    }

    /**
     * Forwards each request to the real server, except the batch requests
     * that [faults] names by their number (1 = the first batch request);
     * records what it received (bodies included). A fault with
     * [Fault.afterCommit] forwards first, then loses the answer.
     */
    private class FaultProxy(private val target: () -> String) : Dispatcher() {
        class Fault(val response: MockResponse, val afterCommit: (() -> Unit)? = null)

        val faults = HashMap<Int, Fault>()
        val received = CopyOnWriteArrayList<RecordedRequest>()
        // No pooled connection outlives a killed server.
        private val forwarder = OkHttpClient.Builder().connectionPool(ConnectionPool(0, 1, TimeUnit.SECONDS)).build()

        @Synchronized
        override fun dispatch(request: RecordedRequest): MockResponse {
            received += request
            val fault = if (request.url.encodedPath == BATCHES) faults.remove(batches().size) else null
            if (fault != null && fault.afterCommit == null) return fault.response
            val answer = forward(request)
            fault?.afterCommit?.invoke()
            return fault?.response ?: answer
        }

        private fun forward(request: RecordedRequest): MockResponse {
            val body = request.body?.toByteArray()?.toRequestBody()
            val builder = Request.Builder().url(target() + request.target).method(request.method!!, body)
            request.headers.filter { (name, _) -> name.lowercase() !in setOf("host", "content-length", "connection", "accept-encoding") }
                .forEach { (name, value) -> builder.header(name, value) }
            forwarder.newCall(builder.build()).execute().use { r ->
                val out = MockResponse.Builder().code(r.code).body(r.body.string())
                r.header("Content-Type")?.let { out.addHeader("Content-Type", it) }
                r.header("Retry-After")?.let { out.addHeader("Retry-After", it) }
                return out.build()
            }
        }

        fun batches() = received.filter { it.url.encodedPath == BATCHES }

        companion object {
            const val BATCHES = "/api/v1/sync/batches"
        }
    }

    @Test
    fun aPushThroughAFaultyNetworkAndACrashedServerLosesAndDoublesNothing() = runBlocking<Unit> {
        val real = TestServer(dir).also { server = it }
        val proxy = FaultProxy { real.url }
        mock.dispatcher = proxy
        val clock = MutableClock(instant("2026-03-02T01:00:00Z"))
        val a1 = agent("a1")
        FieldCheckClient.open(File(dir, "device.db").path, FixedLocationSource(HQ_LAT, HQ_LON, clock = clock), clock).use { c ->
            c.withCore { now -> importSites(admin, Fixtures.SITES, now) }
            c.setConsent(a1, Permission.LOCATION, true)
            repeat(3) {
                clock.now = clock.now.plusSeconds(3600)
                c.checkIn(a1)
                clock.now = clock.now.plusSeconds(600)
                c.checkOut(a1)
            }
            val transport = OkHttpTransport()
            val keystore = softwareKeystore()
            val base = mock.url("/").toString().removeSuffix("/")
            c.enrol(base, real.enrolCode("a1"), keystore, transport)

            // Batches of two events (the consent entry and six fixes make four), each meeting
            // one fault, then its retry: requests 1-2 are the first batch, 3-4 the second...
            val dropped = MockResponse.Builder().onResponseStart(SocketEffect.ShutdownConnection).build()
            proxy.faults[1] = FaultProxy.Fault(MockResponse.Builder().code(429).addHeader("Retry-After", "1").build())
            proxy.faults[3] = FaultProxy.Fault(MockResponse.Builder().code(503).build())
            proxy.faults[5] = FaultProxy.Fault(dropped)
            // The server commits the fourth batch, then dies before answering; it is back for the retry.
            proxy.faults[7] = FaultProxy.Fault(dropped, afterCommit = { real.kill(); real.restart() })
            val pushed = c.push(keystore, transport, limit = 2u)
            assertEquals(0L, pushed.pending)
            assertEquals(6, real.eventCount("a1"), "every fix once on the server")
            assertTrue(proxy.faults.isEmpty(), "every fault was met")

            val sent = proxy.batches().map { it.body!!.toByteArray() }
            assertEquals(8, sent.size)
            for (batch in 0 until 4) {
                assertContentEquals(sent[2 * batch], sent[2 * batch + 1], "batch ${batch + 1} sent again as it was")
            }
            assertTrue(!sent[1].contentEquals(sent[2]))
            assertTrue("\"intact\":true" in real.cli("--json", "verify").replace(" ", ""))

            // Decisions flow back over the same transport.
            val first = c.events(a1).first()
            real.cli("--actor", "sup-1", "--role", "supervisor", "review", first.id, "--approve", "--note", "on time")
            assertEquals(1uL, c.pull(transport).decisions)
            assertEquals("approved", c.reviews(a1).single().decision)
        }
    }

    /**
     * The server is gone for the whole push: after the core's five attempts
     * (about 15 s of backoff) the push fails as Unreachable and releases
     * nothing; the next push, once the server is back, delivers everything.
     */
    @Test
    fun aPushThatFindsNoServerKeepsEverythingForTheNextOne() = runBlocking<Unit> {
        val real = TestServer(dir).also { server = it }
        val clock = MutableClock(instant("2026-03-02T01:00:00Z"))
        val a1 = agent("a1")
        FieldCheckClient.open(File(dir, "device.db").path, FixedLocationSource(HQ_LAT, HQ_LON, clock = clock), clock).use { c ->
            c.withCore { now -> importSites(admin, Fixtures.SITES, now) }
            c.setConsent(a1, Permission.LOCATION, true)
            val transport = OkHttpTransport()
            val keystore = softwareKeystore()
            c.enrol(real.url, real.enrolCode("a1"), keystore, transport)
            c.checkIn(a1)
            clock.now = clock.now.plusSeconds(8 * 3600)
            c.checkOut(a1)
            val pending = c.syncStatus(admin).pending

            real.kill()
            assertFailsWith<FieldCheckException.Unreachable> { c.push(keystore, transport) }
            assertEquals(pending, c.syncStatus(admin).pending, "nothing released")

            real.restart()
            assertEquals(0L, c.push(keystore, transport).pending)
            assertEquals(2, real.eventCount("a1"))
        }
    }
}
