package app.fieldcheck

import app.fieldcheck.Fixtures.HQ_LAT
import app.fieldcheck.Fixtures.HQ_LON
import app.fieldcheck.Fixtures.admin
import app.fieldcheck.Fixtures.agent
import app.fieldcheck.Fixtures.supervisor
import app.fieldcheck.core.FlagPurpose
import app.fieldcheck.core.FlagRequest
import app.fieldcheck.core.FlagScope
import app.fieldcheck.core.LeadStatus
import app.fieldcheck.core.NewLead
import app.fieldcheck.core.Permission
import java.io.File
import java.time.Instant
import java.time.LocalDate
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue
import app.fieldcheck.core.softwareKeystore
import app.fieldcheck.net.OkHttpTransport
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Test

class ReadmeSamplesTest {
    private val dir = Fixtures.tempDir("readme")
    private val me = agent("a1")

    @After
    fun cleanUp() = dir.deleteTree()

    /** Every ```kotlin block of android/README.md is a sample region of ReadmeSamples.kt, line for line. */
    @Test
    fun readmeBlocksAreTheCompiledSamples() {
        val readme = Repo.androidReadme.readText()
        val blocks = Regex("```kotlin\\n(.*?)```", RegexOption.DOT_MATCHES_ALL).findAll(readme).map { it.groupValues[1].trimEnd() }.toList()
        val source = File(Repo.root, "android/src/test/kotlin/app/fieldcheck/ReadmeSamples.kt").readText()
        val samples = Regex("// sample: [a-z-]+\\n(.*?)\\n// end", RegexOption.DOT_MATCHES_ALL).findAll(source).map { it.groupValues[1] }.toList()
        assertTrue(blocks.size >= 4, "README has ${blocks.size} kotlin blocks")
        for (block in blocks) {
            assertTrue(block in samples, "README block is not a compiled sample (copy it from ReadmeSamples.kt):\n$block")
        }
    }

    @Test
    fun theSyncSampleKeepsTheServerInStepUntilTheDeviceIsRevoked() = runBlocking<Unit> {
        val server = TestServer(dir)
        try {
            val client = openFieldCheck(this, dir, FixedLocationSource(HQ_LAT, HQ_LON)).await()
            client.withCore { now -> importSites(admin, Fixtures.SITES, now) }
            client.setConsent(me, Permission.LOCATION, true)
            val keystore = softwareKeystore()
            client.enrol(server.url, server.enrolCode("a1"), keystore, OkHttpTransport())
            val job = startSync(CoroutineScope(Dispatchers.Default), client, keystore)
            client.checkIn(me)
            withTimeout(20.seconds) { while (server.eventCount("a1") < 1) delay(50) }
            val device = (Json.parse(server.cli("--json", "device", "list").lines().first { it.isNotBlank() }) as Map<*, *>)["device_id"]
            server.cli("device", "revoke", "--device", device as String)
            client.checkOut(me)
            withTimeout(20.seconds) { job.join() }
            assertEquals(1, server.eventCount("a1"), "nothing was accepted after the revocation")
            client.close()
        } finally {
            server.stop()
        }
    }

    @Test
    fun samplesWork() = runBlocking<Unit> {
        val client = openFieldCheck(this, dir, FixedLocationSource(HQ_LAT, HQ_LON)).await()
        client.withCore { now -> importSites(admin, Fixtures.SITES, now) }

        assertEquals("Not accepted: consent_required", checkInMessage(client, me))
        val bridge = PermissionConsentBridge(client)
        onPermissionsChecked(bridge, me, fine = true, coarse = true)
        assertEquals("Not accepted: consent_required", checkInMessage(client, me), "the OS alone grants nothing")
        onLocationConsentToggled(client, me, allowed = true, policyVersion = "1")
        assertEquals("Checked in at jkt-hq", checkInMessage(client, me))
        onPermissionsChecked(bridge, me, fine = false, coarse = true)
        assertEquals("Not accepted: consent_required", checkInMessage(client, me))
        onPermissionsChecked(bridge, me, fine = true, coarse = true)
        assertEquals("Checked in at jkt-hq sequence", checkInMessage(client, me))
        assertTrue(checkInMessage(client, agent("")).startsWith("Refused: "))

        client.setFlag(supervisor, FlagRequest(FlagScope.Agent("a1"), FlagPurpose.SECURITY, "mock suspected", Instant.now().plusSeconds(86_400)))
        val lines = privacyLines(client, me)
        assertEquals("Location for attendance: allowed", lines[0])
        assertTrue(lines[1].startsWith("security flag by supervisor until "), lines[1])

        onNewPushToken(client, me, "fcm-token")
        assertNull(client.pushToken(me))
        client.setConsent(me, Permission.PUSH, true)
        onNewPushToken(client, me, "fcm-token")
        assertEquals("fcm-token", client.pushToken(me))

        signOut(client)
        assertFailsWith<IllegalStateException> { client.verify() }
    }

    @Test
    fun fieldSamplesWork() = runBlocking<Unit> {
        FieldCheckClient.open(File(dir, "field.db").path, FixedLocationSource(HQ_LAT, HQ_LON)).use { client ->
            val lead = client.addLead(me, NewLead("a1", "Budi", null, null, "term life", null, null))
            assertEquals(LeadStatus.WON, policySigned(client, me, lead.id, "POL-1", "1500000").status)
            val lost = client.addLead(me, NewLead("a1", "Siti", null, null, null, null, null))
            client.moveLead(me, lost.id, LeadStatus.LOST)
            assertEquals(LeadStatus.LOST, policySigned(client, me, lost.id, "POL-2", "900000").status)
            val csv = weeklyAttendanceCsv(client, supervisor, LocalDate.of(2026, 3, 2))
            assertTrue(csv.startsWith("agent,name,date,"), csv)
        }
    }
}
