package app.fieldcheck

import app.fieldcheck.Fixtures.admin
import app.fieldcheck.Fixtures.agent
import app.fieldcheck.Fixtures.code
import app.fieldcheck.Fixtures.instant
import app.fieldcheck.Fixtures.supervisor
import app.fieldcheck.core.AttendanceEvent
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.Fix
import app.fieldcheck.core.FlagPurpose
import app.fieldcheck.core.FlagRequest
import app.fieldcheck.core.FlagScope
import app.fieldcheck.core.Permission
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlin.test.fail
import kotlinx.coroutines.runBlocking
import org.junit.Test
import org.junit.runner.RunWith
import org.junit.runners.Parameterized

/**
 * Every JSON file in tests/scenarios, replayed through [FieldCheckClient] with a
 * [SimulatedLocationSource] holding the scenario's fixes in order. Each `fix`
 * step's verdict (or error) must equal `expect` exactly; one test per file,
 * failing with every mismatch of that file.
 */
@RunWith(Parameterized::class)
class ScenarioTest(private val name: String) {
    companion object {
        fun files(): List<File> =
            Repo.scenarios.listFiles { f -> f.isFile && f.name.endsWith(".json") }.orEmpty().sortedBy { it.name }

        @JvmStatic
        @Parameterized.Parameters(name = "{0}")
        fun names(): List<String> = files().map { it.name.removeSuffix(".json") }
    }

    @Test
    fun scenario() {
        val mismatches = Scenarios.replay(File(Repo.scenarios, "$name.json")) { trace, _ -> simulated(trace) }
        if (mismatches.isNotEmpty()) {
            fail("$name: ${mismatches.size} mismatch(es)\n" + mismatches.joinToString("\n") { "  - $it" })
        }
    }
}

/** A location source handing out a scenario's fixes, and how many are left. */
interface TraceSource : LocationSource {
    val remaining: Int
}

/** The plain JVM's source: [SimulatedLocationSource] over the trace. */
fun simulated(trace: List<Fix>): TraceSource {
    val source = SimulatedLocationSource(trace)
    return object : TraceSource, LocationSource by source {
        override val remaining get() = source.remaining
    }
}

/** The shared scenario runner (tests/scenarios), for any [LocationSource]. */
object Scenarios {
    /**
     * Replays [file] with the location source [source] makes from the
     * scenario's fixes (in order) and the scenario's clock; returns every
     * mismatch, each naming its step.
     */
    fun replay(file: File, source: (trace: List<Fix>, clock: MutableClock) -> TraceSource): List<String> = runBlocking {
        @Suppress("UNCHECKED_CAST")
        val scenario = Json.parse(file.readText()) as Map<String, Any?>
        val steps = scenario.list("steps").map {
            @Suppress("UNCHECKED_CAST")
            it as Map<String, Any?>
        }
        val mismatches = mutableListOf<String>()
        val name = file.name.removeSuffix(".json")
        if (scenario["name"] != name) mismatches += "\"name\" is ${scenario["name"]}, the file is $name.json"
        if (steps.isEmpty()) return@runBlocking mismatches + "no steps"

        // The trace: every fix step in order, as its fields say.
        val trace = steps.filter { it["action"] == "fix" }.map { s ->
            Fix(
                lat = s.double("lat"),
                lon = s.double("lon"),
                accuracyM = s.double("accuracy_m"),
                capturedAt = instant((s["captured_at"] ?: s["at"]) as String),
                isMock = s["is_mock"] as Boolean? ?: false,
            )
        }
        val clock = MutableClock(instant(steps[0].string("at")))
        val location = source(trace, clock)
        val dir = Fixtures.tempDir("scenario")
        val client = FieldCheckClient.open(File(dir, "s.db").path, location, clock)
        try {
            client.withCore { now -> importSites(admin, Json.write(scenario["sites"]), now) }
            steps.forEachIndexed { i, step ->
                clock.now = instant(step.string("at"))
                val where = "step $i (${step["action"]}${step["agent"]?.let { " $it" } ?: ""} at ${step["at"]})"
                try {
                    when (step["action"]) {
                        "consent" -> client.setConsent(
                            agent(step.string("agent")),
                            when (val p = step.string("permission")) {
                                "location" -> Permission.LOCATION
                                "push" -> Permission.PUSH
                                else -> error("$where: field \"permission\": unknown value $p")
                            },
                            step["granted"] as Boolean,
                        )
                        "flag" -> client.setFlag(
                            supervisor,
                            FlagRequest(
                                scope = scope(step["scope"]),
                                purpose = when (val p = step.string("purpose")) {
                                    "audit" -> FlagPurpose.AUDIT
                                    "security" -> FlagPurpose.SECURITY
                                    else -> error("$where: field \"purpose\": unknown value $p")
                                },
                                reason = step.string("reason"),
                                expiresAt = instant(step.string("until")),
                            ),
                        )
                        "restrict" -> client.withCore { now ->
                            setRestriction(admin, step.string("subject"), step["restricted"] as Boolean, now)
                        }
                        "fix" -> mismatches += fixStep(client, step, where)
                        else -> mismatches += "$where: unknown action"
                    }
                } catch (e: FieldCheckException) {
                    mismatches += "$where: unexpected ${e::class.simpleName}: ${e.message}"
                }
            }
            val report = client.verify()
            if (!report.intact) mismatches += "verify: chain broken at ${report.firstBroken}"
            if (location.remaining != 0) mismatches += "${location.remaining} fix(es) of the trace were not used"
        } finally {
            client.close()
            dir.deleteTree()
        }
        mismatches
    }

    /** One check-in/out through the facade; returns the mismatches. */
    private suspend fun fixStep(client: FieldCheckClient, step: Map<String, Any?>, where: String): List<String> {
        val who = agent(step.string("agent"))
        @Suppress("UNCHECKED_CAST")
        val expect = step["expect"] as Map<String, Any?>
        val before = client.verify().eventsChecked
        val result: Result<AttendanceEvent> = try {
            Result.success(
                when (val kind = step.string("kind")) {
                    "check_in" -> client.checkIn(who)
                    "check_out" -> client.checkOut(who)
                    else -> error("$where: field \"kind\": unknown value $kind")
                },
            )
        } catch (e: FieldCheckException) {
            Result.failure(e)
        }
        val event = result.getOrNull()
        val error = result.exceptionOrNull() as FieldCheckException?
        if ("error" in expect) {
            val out = mutableListOf<String>()
            if (error == null) {
                out += "$where: expected error ${expect["error"]}, got verdict ${verdict(event!!)}"
            } else if (code(error) != expect["error"]) {
                out += "$where: expected error ${expect["error"]}, got ${code(error)} (${error.message})"
            }
            val after = client.verify().eventsChecked
            if (after != before) out += "$where: a refused fix stored ${after - before} event(s)"
            return out
        }
        if (expect.keys != setOf("accepted", "position", "site_id", "reasons", "location_retained")) {
            return listOf("$where: malformed expect $expect")
        }
        if (error != null) return listOf("$where: expected ${Json.write(expect)}, got ${code(error)} (${error.message})")
        val actual = verdict(event!!)
        return expect.keys.filter { expect[it] != actual[it] }.map {
            "$where: $it expected ${Json.write(expect[it])}, got ${Json.write(actual[it])}" +
                " (verdict ${Json.write(actual)}; why: ${step["why"] ?: "-"})"
        }
    }

    /** The five compared fields, in the scenarios' vocabulary. */
    private fun verdict(e: AttendanceEvent): Map<String, Any?> = linkedMapOf(
        "accepted" to e.accepted,
        "position" to e.position.name.lowercase(),
        "site_id" to e.siteId,
        "reasons" to e.reasons.map { it.name.lowercase() },
        "location_retained" to e.locationRetained,
    )

    private fun scope(v: Any?): FlagScope = when {
        v == "everyone" -> FlagScope.Everyone
        v is Map<*, *> && v.keys == setOf("agent") -> FlagScope.Agent(v["agent"] as String)
        v is Map<*, *> && v.keys == setOf("site") -> FlagScope.Site(v["site"] as String)
        else -> error("bad flag scope $v")
    }
}

/** The directory must hold scenarios, each file named after its `name`. */
class ScenarioFilesTest {
    @Test
    fun scenariosArePresent() {
        val files = ScenarioTest.files()
        assertTrue(files.isNotEmpty(), "no scenarios in ${Repo.scenarios}")
        for (f in files) {
            @Suppress("UNCHECKED_CAST")
            val s = Json.parse(f.readText()) as Map<String, Any?>
            assertEquals(f.name.removeSuffix(".json"), s["name"], "name of ${f.name}")
            assertTrue(s.list("steps").isNotEmpty(), "${f.name} has no steps")
        }
    }
}

private fun Map<String, Any?>.string(key: String): String =
    this[key] as? String ?: throw IllegalArgumentException("\"$key\" must be a string: $this")

private fun Map<String, Any?>.double(key: String): Double =
    (this[key] as? Number)?.toDouble() ?: throw IllegalArgumentException("\"$key\" must be a number: $this")

private fun Map<String, Any?>.list(key: String): List<Any?> =
    this[key] as? List<Any?> ?: throw IllegalArgumentException("\"$key\" must be an array")
