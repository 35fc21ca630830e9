package app.fieldcheck

import app.fieldcheck.Fixtures.HQ_LAT
import app.fieldcheck.Fixtures.HQ_LON
import app.fieldcheck.Fixtures.admin
import app.fieldcheck.Fixtures.agent
import app.fieldcheck.Fixtures.instant
import app.fieldcheck.Fixtures.supervisor
import app.fieldcheck.core.AttendanceEvent
import app.fieldcheck.core.DayStatus
import app.fieldcheck.core.Decision
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.Fix
import app.fieldcheck.core.LeadAction
import app.fieldcheck.core.LeadStatus
import app.fieldcheck.core.LeadUpdate
import app.fieldcheck.core.NewLead
import app.fieldcheck.core.NewTransaction
import app.fieldcheck.core.Permission
import app.fieldcheck.core.Reason
import app.fieldcheck.core.ReportFormat
import app.fieldcheck.core.Shift
import app.fieldcheck.core.ShiftVersion
import app.fieldcheck.core.TxnKind
import java.io.File
import java.time.LocalDate
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Test

/**
 * Leads, transactions, shifts, reviews and reports through [FieldCheckClient]
 * and the generated bindings: the core's answers and its typed refusals.
 */
class FieldTest {
    private val dir = Fixtures.tempDir("field")
    private val clock = MutableClock(instant("2026-03-01T00:00:00Z"))
    private val a1 = agent("a1")
    private val a2 = agent("a2")

    @After
    fun cleanUp() = dir.deleteTree()

    private suspend fun open(trace: List<Fix> = emptyList()): FieldCheckClient {
        val c = FieldCheckClient.open(File(dir, "field.db").path, SimulatedLocationSource(trace), clock)
        c.withCore { now -> importSites(admin, Fixtures.SITES, now) }
        return c
    }

    private fun newLead(agent: String, name: String) =
        NewLead(agent, name, "+62 812-3456-7890", null, "term life", "referral", "met at the fair")

    private fun closing(agent: String, leadId: String?, amount: String = "1500000", currency: String = "IDR") =
        NewTransaction(agent, TxnKind.POLICY_CLOSING, "POL-$amount", "term life", amount, currency, leadId, null)

    @Test
    fun aLeadMovesFromNewToContactedToWonAfterAPolicyClosing() = runBlocking<Unit> {
        open().use { c ->
            val lead = c.addLead(a1, newLead("a1", "Budi Santoso"))
            assertEquals(LeadStatus.NEW, lead.status)
            assertEquals(clock.now, lead.createdAt)
            assertEquals(LeadStatus.CONTACTED, c.moveLead(a1, lead.id, LeadStatus.CONTACTED).status)

            // Won needs the policy closing first.
            val early = assertFailsWith<FieldCheckException.InvalidInput> { c.moveLead(a1, lead.id, LeadStatus.WON) }
            assertEquals("status", early.field)
            val txn = c.addTransaction(a1, closing("a1", lead.id, "1500000.50"))
            assertEquals(150_000_050L, txn.amountMinor)
            assertEquals("1500000.50", txn.amount)
            val won = c.moveLead(a1, lead.id, LeadStatus.WON, note = "signed today")
            assertEquals(LeadStatus.WON, won.status)
            assertEquals(listOf("met at the fair", "signed today"), won.notes)

            assertEquals(won, c.lead(a1, lead.id))
            assertEquals(listOf(won), c.leads(a1))
            assertEquals(listOf(won), c.leads(supervisor, agent = null, status = LeadStatus.WON))
            assertEquals(listOf(txn), c.transactions(a1))
            val history = c.leadHistory(a1, lead.id)
            assertEquals(
                listOf(LeadAction.CREATED to LeadStatus.NEW, LeadAction.UPDATED to LeadStatus.CONTACTED, LeadAction.UPDATED to LeadStatus.WON),
                history.map { it.action to it.status },
            )
            assertEquals("Budi Santoso", history[0].customerName)
            assertEquals(txn.id, history[2].txnId)
            assertTrue(c.verify().intact)
        }
    }

    @Test
    fun anIllegalMoveIsATypedInvalidInput() = runBlocking<Unit> {
        open().use { c ->
            val lead = c.addLead(a1, newLead("a1", "Siti"))
            c.moveLead(a1, lead.id, LeadStatus.PROPOSAL)
            val back = assertFailsWith<FieldCheckException.InvalidInput> { c.moveLead(a1, lead.id, LeadStatus.QUALIFIED) }
            assertEquals("status", back.field)
            assertTrue("proposal" in back.reason, back.reason)
            c.moveLead(a1, lead.id, LeadStatus.LOST)
            // Closed stays closed.
            assertFailsWith<FieldCheckException.InvalidInput> { c.moveLead(a1, lead.id, LeadStatus.CONTACTED) }
            val nothing = assertFailsWith<FieldCheckException.InvalidInput> {
                c.updateLead(a1, lead.id, LeadUpdate(null, null, null, null, null, null, null))
            }
            assertEquals("update", nothing.field)
            assertEquals(LeadStatus.LOST, c.lead(a1, lead.id).status)
            for ((amount, currency, field) in listOf(Triple("1.234", "IDR", "amount"), Triple("10", "idr", "currency"))) {
                val e = assertFailsWith<FieldCheckException.InvalidInput> { c.addTransaction(a1, closing("a1", null, amount, currency)) }
                assertEquals(field, e.field)
            }
            assertFailsWith<FieldCheckException.NotFound> { c.lead(a1, "no-such-lead") }
        }
    }

    @Test
    fun anAgentActingForAnotherIsPermissionDenied() = runBlocking<Unit> {
        open().use { c ->
            val theirs = c.addLead(a2, newLead("a2", "Ayu"))
            val before = c.verify().eventsChecked
            val e = assertFailsWith<FieldCheckException.PermissionDenied> { c.addLead(a1, newLead("a2", "X")) }
            assertTrue("a2" in e.reason, e.reason)
            assertFailsWith<FieldCheckException.PermissionDenied> { c.moveLead(a1, theirs.id, LeadStatus.LOST) }
            assertFailsWith<FieldCheckException.PermissionDenied> { c.lead(a1, theirs.id) }
            assertFailsWith<FieldCheckException.PermissionDenied> { c.leads(a1, agent = "a2") }
            assertFailsWith<FieldCheckException.PermissionDenied> { c.addTransaction(a1, closing("a2", null)) }
            assertFailsWith<FieldCheckException.PermissionDenied> { c.transactions(a1, agent = "a2") }
            assertFailsWith<FieldCheckException.PermissionDenied> { c.addLead(supervisor, newLead("a2", "X")) }
            assertFailsWith<FieldCheckException.PermissionDenied> {
                c.salesReport(a1, LocalDate.of(2026, 3, 1), LocalDate.of(2026, 3, 31), agent = "a2")
            }
            assertEquals(before, c.verify().eventsChecked)
            assertEquals(emptyList(), c.leads(a1))
            assertEquals(listOf(theirs), c.leads(a2))
        }
    }

    @Test
    fun adminsSetShiftsAsTextTheCoreParses() = runBlocking<Unit> {
        open().use { c ->
            val set = c.setShift(admin, "a1", Shift("8:00", "17:00", "Monday-Friday", "Asia/Jakarta"))
            assertEquals(Shift("08:00", "17:00", "mon-fri", "Asia/Jakarta"), set)
            assertEquals(set, c.shift(admin, "a1"))
            assertNull(c.shift(admin, "a2"))
            assertEquals(listOf("a1" to set), c.shifts(admin).map { it.agent to it.shift })
            val cases = listOf(
                "start" to Shift("25:00", "17:00", "mon-fri", "Asia/Jakarta"),
                "end" to Shift("08:00", "08:00", "mon-fri", "Asia/Jakarta"),
                "days" to Shift("08:00", "17:00", "weekdays", "Asia/Jakarta"),
                "tz" to Shift("08:00", "17:00", "mon-fri", "WIB"),
            )
            for ((field, shift) in cases) {
                val e = assertFailsWith<FieldCheckException.InvalidInput>("$shift") { c.setShift(admin, "a1", shift) }
                assertEquals(field, e.field, "$shift")
            }
            assertFailsWith<FieldCheckException.PermissionDenied> { c.setShift(a1, "a1", set) }
            assertFailsWith<FieldCheckException.PermissionDenied> { c.setShift(supervisor, "a1", set) }

            // A change from a date keeps the earlier version.
            val later = c.setShiftFrom(admin, "a1", LocalDate.parse("2026-03-16"), Shift("08:30", "17:00", "mon-thu", "Asia/Jakarta"), off = "fri")
            assertEquals(
                listOf(ShiftVersion(null, set), ShiftVersion("2026-03-16", later)),
                c.shiftHistory(admin, "a1"),
            )
            assertEquals(later, c.shift(admin, "a1"))
        }
    }

    /**
     * A Jakarta week (shift 08:00 WIB, Mon-Fri): Tuesday on time (checked in
     * at 23:30 UTC on Monday), Wednesday 15 minutes late, Thursday absent,
     * Friday a mock fix. Returns Wednesday's check-in.
     */
    private suspend fun jakartaWeek(c: FieldCheckClient): AttendanceEvent {
        c.setShift(admin, "a1", Shift("08:00", "17:00", "mon-fri", "Asia/Jakarta"))
        c.setConsent(a1, Permission.LOCATION, true)
        suspend fun at(time: String, check: suspend () -> AttendanceEvent): AttendanceEvent {
            clock.now = instant(time)
            return check()
        }
        assertTrue(at("2026-03-02T23:30:00Z") { c.checkIn(a1) }.accepted)
        assertTrue(at("2026-03-03T10:00:00Z") { c.checkOut(a1) }.accepted)
        val late = at("2026-03-04T01:25:00Z") { c.checkIn(a1) }
        assertFalse(at("2026-03-06T01:00:00Z") { c.checkIn(a1) }.accepted)
        return late
    }

    private fun jakartaTrace() = listOf(
        Fix(HQ_LAT, HQ_LON, 10.0, instant("2026-03-02T23:30:00Z"), false),
        Fix(HQ_LAT, HQ_LON, 10.0, instant("2026-03-03T10:00:00Z"), false),
        Fix(HQ_LAT, HQ_LON, 10.0, instant("2026-03-04T01:25:00Z"), false),
        Fix(HQ_LAT, HQ_LON, 10.0, instant("2026-03-06T01:00:00Z"), true),
    )

    @Test
    fun supervisorsReviewEventsAndReadTheAttendanceReport() = runBlocking<Unit> {
        open(jakartaTrace()).use { c ->
            val late = jakartaWeek(c)
            clock.now = instant("2026-03-05T00:00:00Z")
            assertFailsWith<FieldCheckException.PermissionDenied> { c.review(a1, late.id, Decision.APPROVED, "me") }
            val review = c.review(supervisor, late.id, Decision.APPROVED, "traffic on the toll road")
            assertEquals("2026-03-04", review.date)
            assertEquals(supervisor, review.reviewer)
            assertEquals(listOf(review), c.reviewsOf(supervisor, late.id))
            assertFailsWith<FieldCheckException.NotFound> { c.review(supervisor, "no-such-event", Decision.REJECTED, "x") }

            clock.now = instant("2026-03-07T00:00:00Z")
            val (from, to) = LocalDate.of(2026, 3, 2) to LocalDate.of(2026, 3, 6)
            val report = c.attendanceReport(supervisor, from, to)
            assertEquals(
                listOf(DayStatus.ABSENT, DayStatus.ON_TIME, DayStatus.LATE, DayStatus.ABSENT, DayStatus.ABSENT),
                report.days.map { it.status },
            )
            val tue = report.days[1]
            assertEquals("2026-03-03", tue.date)
            assertEquals("Asia/Jakarta", tue.timeZone)
            assertEquals(instant("2026-03-02T23:30:00Z"), tue.firstCheckIn)
            assertEquals("jkt-hq", tue.siteId)
            val wed = report.days[2]
            assertEquals(15u, wed.minutesLate)
            assertTrue(wed.missingCheckOut)
            // A decision on an event is that event's, not the day's.
            assertEquals(null, wed.review)
            assertEquals(Decision.APPROVED, wed.eventReviews.single().decision)
            assertEquals("traffic on the toll road", wed.eventReviews.single().note)
            assertEquals(Reason.MOCK_LOCATION to 1u, report.days[4].rejected.single().let { it.reason to it.count })
            assertEquals(listOf(0u, 1u, 0u, 0u, 0u), report.totals.map { it.onTime })

            // The documents are rendered by the core.
            @Suppress("UNCHECKED_CAST")
            val json = Json.parse(c.attendanceReportDocument(supervisor, from, to, ReportFormat.JSON)) as Map<String, Any?>
            assertEquals("attendance", json["report"])
            val days = json["days"] as List<Map<String, Any?>>
            assertEquals(5, days.size)
            assertEquals("late", days[2]["status"])
            assertEquals(15L, days[2]["minutes_late"])
            assertEquals("2026-03-03T06:30:00+07:00", days[1]["first_check_in"])
            assertEquals(mapOf("mock_location" to 1L), days[4]["rejected"])
            val csv = c.attendanceReportDocument(supervisor, from, to, ReportFormat.CSV)
            assertTrue(csv.startsWith("agent,name,date,time_zone,"), csv)
            assertEquals(6, csv.trimEnd().lines().size)
            val html = c.attendanceReportDocument(supervisor, from, to, ReportFormat.HTML)
            assertTrue(html.startsWith("<!DOCTYPE html>") && html.trimEnd().endsWith("</html>"))

            // Agents get their own days only; the core checks the period.
            assertEquals(report.days, c.attendanceReport(a1, from, to).days)
            assertFailsWith<FieldCheckException.PermissionDenied> { c.attendanceReport(a2, from, to, agent = "a1") }
            val backwards = assertFailsWith<FieldCheckException.InvalidInput> { c.attendanceReport(supervisor, to, from) }
            assertEquals("to", backwards.field)
            val bad = assertFailsWith<FieldCheckException.InvalidInput> {
                c.core.attendanceReport(supervisor, app.fieldcheck.core.ReportQuery("2026-3-2x", "2026-03-06", null), clock.now)
            }
            assertEquals("from", bad.field)
        }
    }

    @Test
    fun theSalesReportAsRecordsAndDocuments() = runBlocking<Unit> {
        open().use { c ->
            clock.now = instant("2026-03-02T03:00:00Z")
            val ids = listOf("A", "B", "C", "D").map { c.addLead(a1, newLead("a1", it)).id }
            c.addTransaction(a1, closing("a1", ids[0], "1500000", "IDR"))
            c.addTransaction(a1, closing("a1", ids[1], "20.50", "EUR"))
            ids.take(2).forEach { c.moveLead(a1, it, LeadStatus.WON) }
            c.moveLead(a1, ids[2], LeadStatus.LOST)

            val (from, to) = LocalDate.of(2026, 3, 1) to LocalDate.of(2026, 3, 31)
            val row = c.salesReport(supervisor, from, to).agents.single()
            assertEquals("a1", row.agent)
            assertEquals(4u, row.leadsTotal)
            assertEquals(
                mapOf(LeadStatus.NEW to 1u, LeadStatus.CONTACTED to 0u, LeadStatus.QUALIFIED to 0u, LeadStatus.PROPOSAL to 0u, LeadStatus.WON to 2u, LeadStatus.LOST to 1u),
                row.leadsByStatus.associate { it.status to it.count },
            )
            assertEquals(0.5, row.conversionRate)
            assertEquals(2u, row.closings)
            assertEquals(listOf("EUR" to "20.50", "IDR" to "1500000.00"), row.premium.map { it.currency to it.amount })

            @Suppress("UNCHECKED_CAST")
            val json = Json.parse(c.salesReportDocument(supervisor, from, to, ReportFormat.JSON)) as Map<String, Any?>
            assertEquals("sales", json["report"])
            val agents = json["agents"] as List<Map<String, Any?>>
            assertEquals(mapOf("EUR" to "20.50", "IDR" to "1500000.00"), agents.single()["premium"])
            assertTrue(c.salesReportDocument(supervisor, from, to, ReportFormat.CSV).startsWith("agent,leads_total,"))
            assertTrue(c.salesReportDocument(supervisor, from, to, ReportFormat.HTML).contains("</html>"))
            assertTrue(c.salesReport(a2, from, to).agents.all { it.agent == "a2" })
        }
    }
}
