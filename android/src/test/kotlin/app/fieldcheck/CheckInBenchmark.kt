package app.fieldcheck

import app.fieldcheck.core.Actor
import app.fieldcheck.core.FixRequest
import app.fieldcheck.core.FixSubmission
import app.fieldcheck.core.ConsentChange
import app.fieldcheck.core.EventKind
import app.fieldcheck.core.FieldCheck
import app.fieldcheck.core.Fix
import app.fieldcheck.core.Permission
import app.fieldcheck.core.Role
import app.fieldcheck.core.benchSiteGeojson
import app.fieldcheck.core.coreVersion
import app.fieldcheck.core.nativeCheckInBenchmark
import java.io.File
import java.time.Instant
import kotlin.system.exitProcess
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking

/**
 * Check-in calls from Kotlin through the bindings beside the same calls made
 * natively in Rust (`nativeCheckInBenchmark`), in one process, on stores in
 * a tmpfs directory so that fsync does not swamp the call overhead. Both
 * sides run the same sequence (one site, consent granted, alternating
 * check-in/check-out inside the site, `now` 1 ms apart) on a fresh store per
 * round; rounds alternate Kotlin/Rust and the medians are reported.
 * Target (issue): Kotlin ≤ 1.2 × Rust + 10 µs per call.
 *
 * Run by `scripts/test-kotlin.sh --bench` (release library).
 */
fun main() {
    val calls = System.getProperty("bench.calls", "5000").toInt()
    val rounds = System.getProperty("bench.rounds", "5").toInt()
    val dir = Fixtures.tempDir("bench")
    var n = 0
    fun path() = File(dir, "b${n++}.db").path
    try {
        // Warm-up: JIT for the Kotlin side, page cache and allocator for both.
        kotlinCheckIns(path(), calls / 2)
        nativeCheckInBenchmark(path(), (calls / 2).toUInt())
        runBlocking { facadeCheckIns(path(), calls / 10) }

        val kotlin = ArrayList<Double>()
        val rust = ArrayList<Double>()
        val facade = ArrayList<Double>()
        val onIo = ArrayList<Double>()
        repeat(rounds) {
            // A caller already on Dispatchers.IO (a sync worker, a repository): no hop.
            onIo += runBlocking(Dispatchers.IO) { facadeCheckIns(path(), calls) }
            kotlin += kotlinCheckIns(path(), calls)
            rust += nativeCheckInBenchmark(path(), calls.toUInt())
            facade += runBlocking { facadeCheckIns(path(), calls) }
            dir.listFiles()!!.forEach { it.delete() }
        }
        // One trivial crossing (no argument, a short string back), for attributing the overhead.
        val trivial = (1..rounds).map { timeCalls(calls * 4) { coreVersion() } }.median()
        val k = kotlin.median()
        val r = rust.median()
        val f = facade.median()
        val budget = 1.2 * r + 10_000
        println("check-in, $calls calls x $rounds rounds, stores in ${dir.parent}, load average ${loadAverage()}, medians:")
        println("  rust (native loop)            %10.0f ns/call  %8.0f calls/s".format(r, 1e9 / r))
        println("  kotlin (bindings, same calls) %10.0f ns/call  %8.0f calls/s".format(k, 1e9 / k))
        println("  kotlin facade from a blocked thread %8.0f ns/call  %8.0f calls/s (two thread hops)".format(f, 1e9 / f))
        println("  kotlin facade, caller on IO       %10.0f ns/call  (no thread hop)".format(onIo.median()))
        println("  kotlin trivial call (coreVersion) %6.0f ns/call".format(trivial))
        println("  ratio kotlin/rust %.3f, overhead %+.0f ns/call; facade/rust %.3f".format(k / r, k - r, f / r))
        println("  target kotlin <= 1.2 x rust + 10 us = %.0f ns: %s".format(budget, if (k <= budget) "met" else "MISSED"))
        if (k > budget) exitProcess(1)
    } finally {
        dir.deleteTree()
    }
}

private val admin = Actor("bench-admin", Role.ADMIN)
private val agent = Actor("bench-agent", Role.AGENT)

private fun FieldCheck.prepare(t0: Instant) {
    importSites(admin, benchSiteGeojson(), t0)
    changeConsent(agent, ConsentChange(agent.id, Permission.LOCATION, true, null, null), t0)
}

/** The same loop as the Rust side: mean ns per `check` call. */
private fun kotlinCheckIns(path: String, count: Int): Double = FieldCheck.open(path).use { fc ->
    val t0 = Instant.now()
    fc.prepare(t0)
    val started = System.nanoTime()
    for (i in 0 until count) {
        val now = t0.plusMillis(i.toLong())
        val kind = if (i % 2 == 0) EventKind.CHECK_IN else EventKind.CHECK_OUT
        fc.recordFix(FixSubmission(agent, FixRequest(agent.id, kind, Fix(-6.1944, 106.8227, 10.0, now, false)), now))
    }
    (System.nanoTime() - started).toDouble() / count
}

/** Through [FieldCheckClient]: adds the location source and a hop to Dispatchers.IO per call. */
private suspend fun facadeCheckIns(path: String, count: Int): Double {
    val clock = MutableClock(Instant.now())
    val fc = FieldCheck.open(path)
    FieldCheckClient(fc, FixedLocationSource(-6.1944, 106.8227, 10.0, clock), clock).use { client ->
        fc.prepare(clock.now)
        val started = System.nanoTime()
        for (i in 0 until count) {
            clock.now = clock.now.plusMillis(1)
            if (i % 2 == 0) client.checkIn(agent) else client.checkOut(agent)
        }
        return (System.nanoTime() - started).toDouble() / count
    }
}

private inline fun timeCalls(count: Int, call: () -> Unit): Double {
    val started = System.nanoTime()
    repeat(count) { call() }
    return (System.nanoTime() - started).toDouble() / count
}

private fun loadAverage(): String = runCatching { File("/proc/loadavg").readText().split(" ").take(3).joinToString(" ") }.getOrDefault("?")

private fun List<Double>.median(): Double = sorted().let { s -> if (s.size % 2 == 1) s[s.size / 2] else (s[s.size / 2 - 1] + s[s.size / 2]) / 2 }
