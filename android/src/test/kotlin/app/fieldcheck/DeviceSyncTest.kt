package app.fieldcheck

import app.fieldcheck.Fixtures.HQ_LAT
import app.fieldcheck.Fixtures.HQ_LON
import app.fieldcheck.Fixtures.admin
import app.fieldcheck.Fixtures.agent
import app.fieldcheck.Fixtures.instant
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.HttpHeader
import app.fieldcheck.core.HttpRequest
import app.fieldcheck.core.HttpResponse
import app.fieldcheck.core.HttpTransport
import app.fieldcheck.core.Permission
import app.fieldcheck.core.softwareKeystore
import java.io.File
import java.net.HttpURLConnection
import java.net.URI
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Before
import org.junit.Test

/**
 * The facade's device verbs against the real fieldcheck-server started on
 * 127.0.0.1 by the test: enrol, push, pull, reviews. The transport here is
 * the JDK's HttpURLConnection (the OkHttp one comes with the shells' wire
 * work); the key is the core's software keystore.
 */
class DeviceSyncTest {
    private val dir = Fixtures.tempDir("device-sync")
    private lateinit var server: TestServer
    private val url get() = server.url
    private val a1 = agent("a1")

    @Before
    fun startServer() {
        server = TestServer(dir)
    }

    @After
    fun stopServer() {
        server.stop()
        dir.deleteTree()
    }

    private fun cli(vararg args: String) = server.cli(*args)

    @Suppress("UNCHECKED_CAST")
    private fun obj(text: String) = Json.parse(text) as Map<String, Any?>

    /** What an app's HTTP client does for the core: move the bytes, report the status. */
    private class JdkTransport : HttpTransport {
        override fun exchange(request: HttpRequest): HttpResponse {
            val c = URI(request.url).toURL().openConnection() as HttpURLConnection
            c.requestMethod = request.method
            c.connectTimeout = 10_000
            c.readTimeout = 30_000
            request.headers.forEach { h: HttpHeader -> c.setRequestProperty(h.name, h.value) }
            try {
                if (request.method == "POST") {
                    c.doOutput = true
                    c.outputStream.use { it.write(request.body) }
                }
                val status = c.responseCode
                val stream = if (status >= 400) c.errorStream else c.inputStream
                val body = stream?.use { it.readBytes() } ?: ByteArray(0)
                return HttpResponse(status.toUShort(), c.getHeaderField("Retry-After")?.toULongOrNull(), body)
            } catch (e: java.io.IOException) {
                throw FieldCheckException.Unreachable(e.toString())
            } finally {
                c.disconnect()
            }
        }
    }

    @Test
    fun anAgentsDeviceEnrolsPushesAndSeesTheSupervisorsDecision() = runBlocking<Unit> {
        val clock = MutableClock(instant("2026-03-02T02:00:00Z"))
        val client = FieldCheckClient.open(File(dir, "device.db").path, FixedLocationSource(HQ_LAT, HQ_LON, clock = clock), clock)
        client.use { c ->
            c.withCore { now -> importSites(admin, Fixtures.SITES, now) }
            c.setConsent(a1, Permission.LOCATION, true)
            val event = c.checkIn(a1)
            val transport = JdkTransport()
            val keystore = softwareKeystore()
            val code = obj(cli("--json", "device", "enrol-code", "--agent", "a1"))["code"] as String

            val enrolment = c.enrol(url, code, keystore, transport)
            assertEquals("a1", enrolment.agent)
            assertEquals(url, assertNotNull(c.serverLink()).serverUrl)
            val reused = assertFailsWith<FieldCheckException.ServerRefused> { c.enrol(url, code, keystore, transport) }
            assertEquals("bad-code", reused.problem)

            val pushed = c.push(keystore, transport)
            // The consent entry, the check-in and the configuration applied at enrolment.
            assertEquals(3uL, pushed.events)
            assertEquals(0L, pushed.pending)
            // Signed by a key the server does not know: refused, nothing released.
            c.checkOut(a1)
            val forged = assertFailsWith<FieldCheckException.ServerRefused> { c.push(softwareKeystore(), transport) }
            assertEquals(401.toUShort(), forged.status)
            assertEquals(1L, c.syncStatus(admin).pending)
            assertEquals(0L, c.push(keystore, transport).pending)

            cli("--actor", "sup-1", "--role", "supervisor", "review", event.id, "--reject", "--note", "outside the fence")
            assertEquals(1uL, c.pull(transport).decisions)
            assertEquals(0uL, c.pull(transport).decisions)
            val reviews = c.reviews(a1)
            assertEquals(1, reviews.size)
            assertEquals("rejected", reviews[0].decision)
            assertEquals(event.id, reviews[0].eventId)
            assertEquals("outside the fence", reviews[0].note)
            assertEquals("sup-1", reviews[0].reviewer)
        }
    }

    @Test
    fun theCoresSyncClientRunsOverAnInMemoryTransport() = runBlocking<Unit> {
        val clock = MutableClock(instant("2026-03-02T02:00:00Z"))
        val client = FieldCheckClient.open(File(dir, "memory.db").path, FixedLocationSource(HQ_LAT, HQ_LON, clock = clock), clock)
        client.use { c ->
            c.withCore { now -> importSites(admin, Fixtures.SITES, now) }
            c.setConsent(a1, Permission.LOCATION, true)
            c.checkIn(a1)
            val server = ScriptedServer(refusals = listOf(503)) // the core backs off and sends the batch again
            val keystore = softwareKeystore()
            assertEquals("a1", c.enrol("https://memory.invalid", "CODE-1", keystore, server).agent)
            val pushed = c.push(keystore, server)
            // The consent entry, the check-in and the configuration applied at enrolment.
            assertEquals(3uL, pushed.events)
            assertEquals(0L, pushed.pending)
            val batches = server.batches()
            assertEquals(2, batches.size, "the 503 was retried")
            assertEquals(batches[0].body.toList(), batches[1].body.toList(), "the same batch bytes again")
            val auth = batches[1].headers.first { it.name == "Authorization" }.value
            assertEquals("Bearer token-1", auth)
            assertNotNull(batches[1].headers.firstOrNull { it.name == "Fieldcheck-Signature" })
            assertEquals(0uL, c.pull(server).decisions)
        }
    }
}
