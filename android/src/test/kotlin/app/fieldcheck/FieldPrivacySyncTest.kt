package app.fieldcheck

import app.fieldcheck.Fixtures.HQ_LAT
import app.fieldcheck.Fixtures.HQ_LON
import app.fieldcheck.Fixtures.admin
import app.fieldcheck.Fixtures.agent
import app.fieldcheck.Fixtures.instant
import app.fieldcheck.Fixtures.supervisor
import app.fieldcheck.core.Actor
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.Permission
import app.fieldcheck.core.Reason
import app.fieldcheck.core.ReceiptContext
import app.fieldcheck.core.Role
import app.fieldcheck.core.SyncRefusal
import java.io.File
import java.time.LocalDate
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Test

/**
 * Privacy-policy renewal, consent receipts, the agent's own data export and
 * device sync through [FieldCheckClient].
 */
class FieldPrivacySyncTest {
    private val dir = Fixtures.tempDir("privacy-sync")
    private val clock = MutableClock(instant("2026-03-02T02:00:00Z"))
    private val a1 = agent("a1")

    /** The app's own sync actor (the outbox is admin/supervisor data). */
    private val deviceSync = Actor("device-sync", Role.ADMIN)

    @After
    fun cleanUp() = dir.deleteTree()

    private suspend fun open(name: String): FieldCheckClient {
        val c = FieldCheckClient.open(File(dir, name).path, FixedLocationSource(HQ_LAT, HQ_LON, clock = clock), clock)
        c.withCore { now -> importSites(admin, Fixtures.SITES, now) }
        return c
    }

    @Suppress("UNCHECKED_CAST")
    private fun obj(text: String) = Json.parse(text) as Map<String, Any?>

    @Test
    fun renewalRequiredAfterARenewalPolicyUntilTheAgentAcceptsAgain() = runBlocking<Unit> {
        open("device.db").use { c ->
            c.setConsent(a1, Permission.LOCATION, true)
            assertTrue(c.consentStanding(a1).locationAuthorised)

            c.withCore { now -> publishPolicy(admin, "2", true, now) }
            val standing = c.consentStanding(a1)
            assertTrue(standing.renewalRequired)
            assertFalse(standing.locationAuthorised)
            assertEquals("2", standing.currentPolicyVersion)
            assertEquals(listOf(Reason.CONSENT_REQUIRED), c.checkIn(a1).reasons)
            assertFailsWith<FieldCheckException.PermissionDenied> { c.consentStanding(agent("a2"), "a1") }

            assertEquals("2", c.setConsent(a1, Permission.LOCATION, true).policyVersion)
            val renewed = c.consentStanding(a1)
            assertFalse(renewed.renewalRequired)
            assertTrue(renewed.locationAuthorised)
            assertTrue(c.checkIn(a1).accepted)
        }
    }

    @Test
    fun consentReceiptIsNamedByTheEntryIdOnceAControllerIsSet() = runBlocking<Unit> {
        open("device.db").use { c ->
            val entry = c.setConsent(a1, Permission.LOCATION, true)
            // Before an admin sets the controller the receipt says it is not configured.
            val unset = obj(c.consentReceipt(a1, entry.id))
            assertEquals(entry.id, unset["consentReceiptID"])
            val unsetControllers = unset["piiControllers"] as List<*>
            val unsetName = (unsetControllers[0] as Map<*, *>)["piiController"] as String
            assertTrue(unsetName.contains("not configured"), unsetName)

            val controller = ReceiptContext(
                "Example Insurance Ltd (example data)", "Data Protection Officer", "privacy@example.com",
                "+62 21 555 0100", "Jl. Contoh 1, Jakarta", null, "ID", "https://example.com/privacy", "en",
            )
            c.withCore { setReceiptContext(admin, controller) }
            val receipt = obj(c.consentReceipt(a1, entry.id))
            assertEquals(entry.id, receipt["consentReceiptID"])
            assertFailsWith<FieldCheckException.PermissionDenied> { c.consentReceipt(agent("a2"), entry.id) }
        }
    }

    @Test
    fun anAgentExportsTheirOwnData() = runBlocking<Unit> {
        open("device.db").use { c ->
            c.setConsent(a1, Permission.LOCATION, true)
            val event = c.checkIn(a1)
            val export = obj(c.exportMyData(a1))
            @Suppress("UNCHECKED_CAST")
            val events = export["attendance_events"] as List<Map<String, Any?>>
            assertEquals(listOf(event.id), events.map { it["event_id"] })
            assertFailsWith<FieldCheckException.PermissionDenied> { c.exportMyData(supervisor) }
        }
    }

    @Test
    fun aDeviceBatchReachesTheSupervisorStoreAndIsAcknowledged() = runBlocking<Unit> {
        open("device.db").use { phone ->
            open("office.db").use { office ->
                phone.setConsent(a1, Permission.LOCATION, true)
                assertTrue(phone.checkIn(a1).accepted)
                assertFailsWith<FieldCheckException.PermissionDenied> { phone.syncPending(a1) }

                val batch = phone.syncPending(deviceSync)
                val toSeq = obj(batch)["to_seq"] as Long
                val imported = office.withCore { now -> syncImport(admin, batch, now) }
                assertEquals(toSeq.toULong(), imported.imported)
                assertEquals(1uL, imported.attendanceFolded)

                val ack = phone.syncAck(deviceSync, toSeq)
                assertEquals(toSeq, ack.ackedSeq)
                assertEquals(0L, ack.pending)
                assertTrue((obj(phone.syncPending(deviceSync))["events"] as List<*>).isEmpty())

                val day = LocalDate.parse("2026-03-02")
                val days = office.attendanceReport(supervisor, day, day, "a1").days
                assertEquals(listOf("2026-03-02"), days.map { it.date })
                assertEquals(instant("2026-03-02T02:00:00Z"), days.single().firstCheckIn)
            }
        }
    }

    @Test
    fun aForgedBatchIsATypedRefusal() = runBlocking<Unit> {
        open("device.db").use { phone ->
            open("office.db").use { office ->
                phone.setConsent(a1, Permission.LOCATION, true)
                phone.checkIn(a1)
                val batch = phone.syncPending(deviceSync)
                // The check-in's agent changed in transit: its hash no longer matches.
                val forged = batch.replace("\\\"agent\\\":\\\"a1\\\"", "\\\"agent\\\":\\\"a9\\\"")
                assertTrue(forged != batch)
                val e = assertFailsWith<FieldCheckException.SyncRefused> {
                    office.withCore { now -> syncImport(admin, forged, now) }
                }
                assertEquals(SyncRefusal.BROKEN, e.refusal)
                assertEquals(phone.withCore { deviceId() }, e.device)
                assertEquals("sync_refused", Fixtures.code(e))
            }
        }
    }
}
