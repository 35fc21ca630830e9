package app.fieldcheck

import app.fieldcheck.Fixtures.HQ_LAT
import app.fieldcheck.Fixtures.HQ_LON
import app.fieldcheck.Fixtures.admin
import app.fieldcheck.Fixtures.agent
import app.fieldcheck.Fixtures.supervisor
import app.fieldcheck.core.Permission
import java.io.File
import java.util.concurrent.CyclicBarrier
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.concurrent.thread
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Test

/** One shared client called from many coroutines and threads at once. */
class ConcurrencyTest {
    private val dir = Fixtures.tempDir("concurrency")

    @After
    fun cleanUp() = dir.deleteTree()

    @Test
    fun concurrentCallsAreAllRecordedAndTheChainStaysIntact() = runBlocking<Unit> {
        val agents = (1..8).map { agent("c$it") }
        val perAgent = 40
        FieldCheckClient.open(File(dir, "c.db").path, FixedLocationSource(HQ_LAT, HQ_LON)).use { c ->
            c.withCore { now -> importSites(admin, Fixtures.SITES, now) }
            agents.forEach { c.setConsent(it, Permission.LOCATION, true) }
            val before = c.verify().eventsChecked

            // Two plain threads hammer reads (and verify) through the raw core
            // while the coroutines write through the facade.
            val start = CyclicBarrier(3)
            val writing = AtomicBoolean(true)
            val readerErrors = mutableListOf<Throwable>()
            val readers = (1..2).map { r ->
                thread(name = "reader-$r") {
                    start.await()
                    try {
                        while (writing.get()) {
                            c.core.events(supervisor, null, null, null)
                            c.core.consentState(agents[r], agents[r].id)
                            assertTrue(c.core.verify().intact)
                        }
                    } catch (e: Throwable) {
                        synchronized(readerErrors) { readerErrors += e }
                    }
                }
            }
            start.await()
            try {
                agents.map { a ->
                    async(Dispatchers.Default) {
                        repeat(perAgent) { i -> if (i % 2 == 0) c.checkIn(a) else c.checkOut(a) }
                    }
                }.awaitAll()
            } finally {
                writing.set(false)
                readers.forEach { it.join() }
            }
            assertEquals(emptyList(), readerErrors)

            for (a in agents) {
                val events = c.events(a)
                assertEquals(perAgent, events.size, a.id)
                assertTrue(events.all { it.accepted && it.reasons.isEmpty() }, "${a.id}: ${events.map { it.reasons }}")
            }
            val report = c.verify()
            assertTrue(report.intact, "${report.firstBroken}")
            assertEquals(before + (agents.size * perAgent).toULong(), report.eventsChecked)
            // Sequence numbers are unique and without gaps.
            val seqs = c.events(supervisor, agent = null).map { it.seq }.sorted()
            assertEquals((seqs.first()..seqs.last()).count(), seqs.size)
        }
    }
}
