package app.fieldcheck

import app.fieldcheck.core.Actor
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.Fix
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
