package app.fieldcheck

import app.fieldcheck.core.Actor
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.Fix
import app.fieldcheck.core.HttpRequest
import app.fieldcheck.core.HttpResponse
import app.fieldcheck.core.HttpTransport
import app.fieldcheck.core.Role
import java.io.File
import java.nio.file.Files
import java.time.Clock
import java.time.Instant
import java.time.OffsetDateTime
import java.time.ZoneId
import java.time.ZoneOffset
import kotlin.time.Duration

/** Test clock: reads what the test last set. Thread-safe. */
class MutableClock(@Volatile var now: Instant) : Clock() {
    override fun instant(): Instant = now
    override fun getZone(): ZoneId = ZoneOffset.UTC
    override fun withZone(zone: ZoneId): Clock = this
}

/** Always reports the same position, captured "now" on [clock]. */
class FixedLocationSource(
    private val lat: Double,
    private val lon: Double,
    private val accuracyM: Double = 10.0,
    private val clock: Clock = Clock.systemUTC(),
) : LocationSource {
    override suspend fun currentFix(timeout: Duration): Fix = Fix(lat, lon, accuracyM, clock.instant(), false)
}

object Fixtures {
    val admin = Actor("admin", Role.ADMIN)
    val supervisor = Actor("supervisor", Role.SUPERVISOR)
    fun agent(id: String) = Actor(id, Role.AGENT)

    /** Jakarta HQ: a 150 m circle; [INSIDE] is its centre. */
    const val HQ_LAT = -6.1944
    const val HQ_LON = 106.8227
    val SITES = """{"type":"FeatureCollection","features":[{"type":"Feature",
        "geometry":{"type":"Point","coordinates":[$HQ_LON,$HQ_LAT]},
        "properties":{"id":"jkt-hq","name":"Jakarta HQ","radius_m":150}}]}"""

    val T0: Instant = Instant.parse("2026-03-02T01:00:00Z")

    /**
     * Test stores live on tmpfs when there is one (/dev/shm), so that the
     * fsync of every commit (synchronous=FULL) does not dominate thousands of
     * check-ins; the durability itself is tested in Rust (kill -9 suite).
     */
    fun tempDir(prefix: String): File {
        val shm = File("/dev/shm")
        val parent = if (shm.isDirectory && shm.canWrite()) shm.toPath() else File(System.getProperty("java.io.tmpdir")).toPath()
        return Files.createTempDirectory(parent, "fieldcheck-$prefix-").toFile().also { it.deleteOnExit() }
    }

    /** The snake_case code of a core error, as the scenarios and the Rust suite name them. */
    fun code(e: FieldCheckException): String = when (e) {
        is FieldCheckException.InvalidInput -> "invalid_input"
        is FieldCheckException.InvalidGeoJson -> "invalid_geojson"
        is FieldCheckException.PermissionDenied -> "permission_denied"
        is FieldCheckException.NotFound -> "not_found"
        is FieldCheckException.StoreUnusable -> "store_unusable"
        is FieldCheckException.Storage -> "storage"
        is FieldCheckException.Internal -> "internal"
        is FieldCheckException.SyncRefused -> "sync_refused"
        is FieldCheckException.ServerRefused -> "server_refused"
        is FieldCheckException.Unreachable -> "unreachable"
        is FieldCheckException.ConfigRefused -> "config_refused"
    }

    fun instant(text: String): Instant = OffsetDateTime.parse(text).toInstant()
}

/** Repository paths, passed by scripts/test-kotlin.sh (defaults: run from the repo root). */
object Repo {
    val root: File = File(System.getProperty("fieldcheck.repo", ".")).absoluteFile
    val scenarios: File get() = File(root, "tests/scenarios")
    val androidReadme: File get() = File(root, "android/README.md")
}

fun File.deleteTree() {
    walkBottomUp().forEach { it.delete() }
}

/**
 * The real fieldcheck-server (target/debug, built by scripts/test-kotlin.sh)
 * on 127.0.0.1 port 0, with its own store in [dir]; [stop] ends it.
 * [restart] starts it again on the same store and, when [samePort], on the
 * same address, as a server coming back after a crash would.
 */
class TestServer(private val dir: File) {
    private val repo = File(System.getProperty("fieldcheck.repo"))
    val db = File(dir, "server.db")
    private var process: Process? = null
    lateinit var url: String
        private set

    init {
        start("127.0.0.1:0")
    }

    private fun start(listen: String) {
        val p = ProcessBuilder(bin("fieldcheck-server").path, "--db", db.path, "--listen", listen)
            .redirectError(ProcessBuilder.Redirect.appendTo(File(dir, "server.log")))
            .start()
        val line = p.inputStream.bufferedReader().readLine() ?: error("fieldcheck-server exited: ${File(dir, "server.log").readText()}")
        url = line.removePrefix("listening on ")
        process = p
    }

    /** Kills the server at once (SIGKILL): a crash, not a shutdown. */
    fun kill() {
        process?.destroyForcibly()?.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)
        process = null
    }

    fun restart() {
        stop()
        start(url.removePrefix("http://"))
    }

    fun stop() {
        process?.let {
            it.destroy()
            it.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)
        }
        process = null
    }

    private fun bin(name: String) = File(repo, "target/debug/$name").also { check(it.exists()) { "$it missing" } }

    /** Runs the CLI on the server's store; returns stdout. */
    fun cli(vararg args: String): String {
        val p = ProcessBuilder(listOf(bin("fieldcheck").path, "--db", db.path) + args).start()
        val out = p.inputStream.bufferedReader().readText()
        val err = p.errorStream.bufferedReader().readText()
        check(p.waitFor() == 0) { "fieldcheck ${args.joinToString(" ")}: $err" }
        return out
    }

    /** A one-time enrolment code for [agent]. */
    fun enrolCode(agent: String): String {
        @Suppress("UNCHECKED_CAST")
        val answer = Json.parse(cli("--json", "device", "enrol-code", "--agent", agent)) as Map<String, Any?>
        return answer["code"] as String
    }

    /** How many attendance events of [agent] the server's store holds (`events --json`: one a line). */
    fun eventCount(agent: String): Int = cli("--json", "events", "--agent", agent).lines().count { it.isNotBlank() }
}

/**
 * A fieldcheck-server kept in memory, scripted: answers the enrolment,
 * answers batches with the [refusals] statuses in turn (empty bodies), then
 * accepts each up to its `to_seq`; no decision is waiting. Records every
 * request.
 */
/** The configuration answer of a server that decided nothing yet: two empty feeds, as a snapshot. */
private val EMPTY_CONFIG = run {
    val zero = "0".repeat(64)
    val feed = """{"changes":[],"head":{"seq":0,"hash":"$zero"}}"""
    """{"snapshot":true,"global":$feed,"agent":$feed,"cursor":"c1.0.$zero.0.$zero","server_time":"NOW"}"""
}

class ScriptedServer(refusals: List<Int> = emptyList()) : HttpTransport {
    private val pending = ArrayDeque(refusals)
    private val seen = java.util.Collections.synchronizedList(mutableListOf<HttpRequest>())
    private val now = "2026-03-02T02:00:00Z"

    val requests: List<HttpRequest> get() = synchronized(seen) { seen.toList() }

    fun batches() = requests.filter { it.url.endsWith("/api/v1/sync/batches") }

    /** Answers the next batches with these statuses first. */
    fun refuse(vararg statuses: Int) = synchronized(pending) { pending.addAll(statuses.toList()) }

    private fun ok(json: String) = HttpResponse(200.toUShort(), null, json.toByteArray())

    override fun exchange(request: HttpRequest): HttpResponse {
        seen += request
        return when {
            request.url.endsWith("/api/v1/devices/enrol") ->
                ok("""{"device_token":"token-1","agent":"a1","server_time":"$now"}""")
            request.url.endsWith("/api/v1/sync/batches") -> {
                synchronized(pending) { pending.removeFirstOrNull() }?.let {
                    return HttpResponse(it.toUShort(), null, ByteArray(0))
                }
                @Suppress("UNCHECKED_CAST")
                val batch = Json.parse(String(request.body)) as Map<String, Any?>
                ok(
                    """{"device_id":"${batch["device_id"]}","accepted_to_seq":${batch["to_seq"]},""" +
                        """"imported":${(batch["events"] as List<*>).size},"duplicates":0,"server_time":"$now"}""",
                )
            }
            request.url.contains("/api/v1/sync/decisions") -> ok("""{"decisions":[],"cursor":"0","server_time":"$now"}""")
            request.url.contains("/api/v1/sync/config") -> ok(EMPTY_CONFIG.replace("NOW", now))
            else -> HttpResponse(404.toUShort(), null, ByteArray(0))
        }
    }
}
