package app.fieldcheck

import app.fieldcheck.Fixtures.HQ_LAT
import app.fieldcheck.Fixtures.HQ_LON
import app.fieldcheck.Fixtures.T0
import app.fieldcheck.Fixtures.admin
import app.fieldcheck.Fixtures.agent
import app.fieldcheck.Fixtures.supervisor
import app.fieldcheck.core.FieldCheck
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.Fix
import app.fieldcheck.core.Permission
import java.io.File
import java.security.MessageDigest
import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Test

/** Core errors reach Kotlin as typed [FieldCheckException] subclasses, and refused calls store nothing. */
class ErrorsTest {
    private val dir = Fixtures.tempDir("errors")
    private val a1 = agent("a1")

    @After
    fun cleanUp() = dir.deleteTree()

    private suspend fun client(trace: List<Fix>): FieldCheckClient {
        val c = FieldCheckClient.open(File(dir, "e.db").path, SimulatedLocationSource(trace), MutableClock(T0))
        c.withCore { now -> importSites(admin, Fixtures.SITES, now) }
        c.setConsent(a1, Permission.LOCATION, true)
        return c
    }

    @Test
    fun malformedFixIsInvalidInputNamingTheFieldAndStoresNothing() = runBlocking<Unit> {
        val cases = listOf(
            "latitude" to Fix(91.0, HQ_LON, 10.0, T0, false),
            "latitude" to Fix(Double.NaN, HQ_LON, 10.0, T0, false),
            "longitude" to Fix(HQ_LAT, -180.5, 10.0, T0, false),
            "longitude" to Fix(HQ_LAT, Double.POSITIVE_INFINITY, 10.0, T0, false),
            "accuracy" to Fix(HQ_LAT, HQ_LON, 0.0, T0, false),
            "accuracy" to Fix(HQ_LAT, HQ_LON, -3.0, T0, false),
        )
        client(cases.map { it.second }).use { c ->
            val before = c.verify().eventsChecked
            for ((field, fix) in cases) {
                val e = assertFailsWith<FieldCheckException.InvalidInput>("$fix") { c.checkIn(a1) }
                assertEquals(field, e.field, "$fix")
                assertTrue(e.reason.isNotBlank())
            }
            assertEquals(emptyList(), c.events(a1))
            assertEquals(before, c.verify().eventsChecked)
        }
    }

    @Test
    fun actingForAnotherAgentIsPermissionDenied() = runBlocking<Unit> {
        val fix = Fix(HQ_LAT, HQ_LON, 10.0, T0, false)
        client(listOf(fix, fix, fix)).use { c ->
            c.setConsent(agent("a2"), Permission.LOCATION, true)
            val before = c.verify().eventsChecked
            val e = assertFailsWith<FieldCheckException.PermissionDenied> { c.checkIn(a1, agent = "a2") }
            assertTrue("a2" in e.reason, e.reason)
            // Supervisors review; they do not check in for anyone.
            assertFailsWith<FieldCheckException.PermissionDenied> { c.checkIn(supervisor, agent = "a2") }
            assertFailsWith<FieldCheckException.PermissionDenied> { c.events(a1, agent = "a2") }
            assertFailsWith<FieldCheckException.PermissionDenied> {
                c.setConsent(a1, Permission.LOCATION, false, agent = "a2")
            }
            assertFailsWith<FieldCheckException.PermissionDenied> { c.consentState(a1, agent = "a2") }
            assertEquals(before, c.verify().eventsChecked)
            // The agent themself may.
            c.checkIn(agent("a2"))
            assertEquals(1, c.events(agent("a2")).size)
        }
    }

    @Test
    fun damagedStoreIsStoreUnusableAndLeftUntouched() {
        val random = Random(20260302)
        val damaged = mapOf(
            "garbage.db" to random.nextBytes(16 * 1024),
            "text.db" to "this is not a database\n".repeat(300).toByteArray(),
            // A real SQLite header followed by garbage pages.
            "torn.db" to "SQLite format 3\u0000".toByteArray() + random.nextBytes(8 * 1024 - 16),
        )
        for ((name, bytes) in damaged) {
            val file = File(dir, name)
            file.writeBytes(bytes)
            file.setLastModified(1_700_000_000_000)
            val e = assertFailsWith<FieldCheckException.StoreUnusable>(name) { FieldCheck.open(file.path) }
            assertTrue(e.reason.isNotBlank())
            assertEquals(sha256(bytes), sha256(file.readBytes()), "$name was modified")
            assertEquals(1_700_000_000_000, file.lastModified(), "$name was written")
        }
        val left = dir.list()!!.sorted()
        assertEquals(damaged.keys.sorted(), left, "sidecar files (-wal, -shm, -journal) were created")
    }

    private fun sha256(b: ByteArray) = MessageDigest.getInstance("SHA-256").digest(b).joinToString("") { "%02x".format(it) }
}
