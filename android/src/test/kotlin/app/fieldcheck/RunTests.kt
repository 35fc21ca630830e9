package app.fieldcheck

import kotlin.system.exitProcess
import org.junit.internal.TextListener
import org.junit.runner.Description
import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener

/**
 * JUnit4 entry point for scripts/test-kotlin.sh: runs the named test classes,
 * prints one line per test, JUnit's own summary (`OK (N tests)` or the
 * failures) and a last line `N passed, N failed`; exits 1 unless every test
 * passed and at least one ran.
 */
fun main(args: Array<String>) {
    val junit = JUnitCore()
    junit.addListener(TextListener(System.out))
    junit.addListener(object : RunListener() {
        private val started = HashMap<Description, Long>()
        private val failed = HashSet<Description>()

        override fun testStarted(d: Description) {
            started[d] = System.nanoTime()
        }

        override fun testFailure(f: Failure) {
            failed += f.description
        }

        override fun testFinished(d: Description) {
            val s = (System.nanoTime() - (started[d] ?: System.nanoTime())) / 1e9
            println("\n%s %s.%s (%.2f s)".format(if (d in failed) "FAIL" else "ok  ", d.testClass?.simpleName, d.methodName, s))
        }
    })
    val result = junit.run(*args.map { Class.forName(it) }.toTypedArray())
    // A failure outside any test (a class that cannot load) counts as failed too.
    val failed = result.failureCount
    val passed = result.runCount - result.failures.count { it.description.isTest }
    println("$passed passed, $failed failed")
    exitProcess(if (result.wasSuccessful() && result.runCount > 0) 0 else 1)
}
