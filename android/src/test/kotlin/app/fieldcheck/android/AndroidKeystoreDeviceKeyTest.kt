package app.fieldcheck.android

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import app.fieldcheck.FieldCheckClient
import app.fieldcheck.FixedLocationSource
import app.fieldcheck.Fixtures
import app.fieldcheck.Fixtures.HQ_LAT
import app.fieldcheck.Fixtures.HQ_LON
import app.fieldcheck.Fixtures.admin
import app.fieldcheck.Fixtures.agent
import app.fieldcheck.MutableClock
import app.fieldcheck.TestServer
import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.Permission
import app.fieldcheck.deleteTree
import app.fieldcheck.net.OkHttpTransport
import java.io.File
import java.io.InputStream
import java.io.OutputStream
import java.security.Key
import java.security.KeyFactory
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.KeyPairGeneratorSpi
import java.security.KeyStoreSpi
import java.security.PrivateKey
import java.security.Provider
import java.security.PublicKey
import java.security.SecureRandom
import java.security.Security
import java.security.Signature
import java.security.cert.Certificate
import java.security.spec.AlgorithmParameterSpec
import java.security.spec.ECGenParameterSpec
import java.security.spec.X509EncodedKeySpec
import java.util.Collections
import java.util.Date
import java.util.Enumeration
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.robolectric.annotation.ConscryptMode

/**
 * A stand-in for the platform's "AndroidKeyStore" provider, registered
 * under that name so [AndroidKeystoreDeviceKey] runs its own code paths
 * (Robolectric has no keystore). Keys are P-256 pairs made by the JDK and
 * kept in memory; every [KeyGenParameterSpec] asked for is recorded, and
 * StrongBox can be made unavailable as on a device without one.
 */
class FakeAndroidKeyStore : Provider("AndroidKeyStore", "1.0", "test stand-in for the Android Keystore") {
    val pairs = HashMap<String, KeyPair>()
    val specs = mutableListOf<KeyGenParameterSpec>()
    var strongBoxAvailable = true

    init {
        put("KeyStore.AndroidKeyStore", Store::class.java.name)
        put("KeyPairGenerator.EC", Generator::class.java.name)
    }

    private class PublicKeyCertificate(private val key: PublicKey) : Certificate("X.509") {
        override fun getEncoded(): ByteArray = key.encoded
        override fun verify(key: PublicKey) = Unit
        override fun verify(key: PublicKey, sigProvider: String) = Unit
        override fun toString() = "certificate of $key"
        override fun getPublicKey(): PublicKey = key
    }

    class Store : KeyStoreSpi() {
        private val keys get() = installed.pairs
        override fun engineGetKey(alias: String, password: CharArray?): Key? = keys[alias]?.private
        override fun engineGetCertificateChain(alias: String) = engineGetCertificate(alias)?.let { arrayOf(it) }
        override fun engineGetCertificate(alias: String): Certificate? = keys[alias]?.public?.let(::PublicKeyCertificate)
        override fun engineGetCreationDate(alias: String) = Date(0)
        override fun engineSetKeyEntry(alias: String, key: Key, password: CharArray?, chain: Array<out Certificate>?) =
            throw UnsupportedOperationException("keys are generated inside the keystore, never imported")
        override fun engineSetKeyEntry(alias: String, key: ByteArray, chain: Array<out Certificate>?) =
            throw UnsupportedOperationException("keys are generated inside the keystore, never imported")
        override fun engineSetCertificateEntry(alias: String, cert: Certificate) = throw UnsupportedOperationException()
        override fun engineDeleteEntry(alias: String) {
            keys.remove(alias)
        }
        override fun engineAliases(): Enumeration<String> = Collections.enumeration(keys.keys.toList())
        override fun engineContainsAlias(alias: String) = alias in keys
        override fun engineSize() = keys.size
        override fun engineIsKeyEntry(alias: String) = alias in keys
        override fun engineIsCertificateEntry(alias: String) = false
        override fun engineGetCertificateAlias(cert: Certificate): String? = null
        override fun engineStore(stream: OutputStream?, password: CharArray?) = Unit
        override fun engineLoad(stream: InputStream?, password: CharArray?) = Unit
    }

    class Generator : KeyPairGeneratorSpi() {
        private var spec: KeyGenParameterSpec? = null

        override fun initialize(keysize: Int, random: SecureRandom?) = throw UnsupportedOperationException("use a KeyGenParameterSpec")
        override fun initialize(params: AlgorithmParameterSpec, random: SecureRandom?) {
            spec = params as KeyGenParameterSpec
        }

        override fun generateKeyPair(): KeyPair {
            val spec = checkNotNull(spec)
            installed.specs += spec
            // On a device the keystore throws this from generateKeyPair() when StrongBox is missing or busy.
            if (spec.isStrongBoxBacked && !installed.strongBoxAvailable) throw StrongBoxUnavailableException()
            val pair = KeyPairGenerator.getInstance("EC", "SunEC").apply { initialize(spec.algorithmParameterSpec) }.generateKeyPair()
            installed.pairs[spec.keystoreAlias] = pair
            return pair
        }
    }

    companion object {
        lateinit var installed: FakeAndroidKeyStore
    }
}

/**
 * [AndroidKeystoreDeviceKey] against [FakeAndroidKeyStore] on Robolectric's
 * framework (API 29 and 35): what it asks the keystore for, the fallback
 * when StrongBox is unavailable, that its public key and signatures are
 * what the server verifies, and an enrolment and push to the real server
 * through [OkHttpTransport] signed by it.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [29, 35])
@ConscryptMode(ConscryptMode.Mode.OFF)
class AndroidKeystoreDeviceKeyTest {
    private val keystore = FakeAndroidKeyStore()
    private val dir = Fixtures.tempDir("android-keystore")

    @Before
    fun install() {
        FakeAndroidKeyStore.installed = keystore
        Security.insertProviderAt(keystore, 1)
    }

    @After
    fun uninstall() {
        Security.removeProvider(keystore.name)
        dir.deleteTree()
    }

    private fun verifies(publicKeyDer: ByteArray, message: ByteArray, signature: ByteArray): Boolean {
        val key = KeyFactory.getInstance("EC").generatePublic(X509EncodedKeySpec(publicKeyDer))
        return Signature.getInstance("SHA256withECDSA").run {
            initVerify(key)
            update(message)
            verify(signature)
        }
    }

    @Test
    fun aP256SigningKeyIsMadeInStrongBoxOnceAndSignsWhatTheServerVerifies() {
        val key = AndroidKeystoreDeviceKey(strongBox = true)
        val publicKey = key.publicKey()
        val spec = keystore.specs.single()
        assertEquals(AndroidKeystoreDeviceKey.DEFAULT_ALIAS, spec.keystoreAlias)
        assertEquals(KeyProperties.PURPOSE_SIGN, spec.purposes, "signing only")
        assertEquals(listOf(KeyProperties.DIGEST_SHA256), spec.digests.toList())
        assertEquals("secp256r1", (spec.algorithmParameterSpec as ECGenParameterSpec).name)
        assertTrue(spec.isStrongBoxBacked)

        val message = "batch bytes".toByteArray()
        assertTrue(verifies(publicKey, message, key.sign(message)))
        // The key stays in the keystore: a later instance (a restarted app) uses it, makes no other.
        val again = AndroidKeystoreDeviceKey(strongBox = true)
        assertContentEquals(publicKey, again.publicKey())
        assertTrue(verifies(publicKey, message, again.sign(message)))
        assertEquals(1, keystore.specs.size)
    }

    @Test
    fun withoutStrongBoxTheKeyIsMadeInTheTee() {
        keystore.strongBoxAvailable = false
        val key = AndroidKeystoreDeviceKey(strongBox = true)
        val message = "batch".toByteArray()
        assertTrue(verifies(key.publicKey(), message, key.sign(message)))
        assertEquals(listOf(true, false), keystore.specs.map { it.isStrongBoxBacked }, "tried StrongBox, then the TEE")
    }

    @Test
    fun aDeletedKeyIsReplacedAndAKeystoreFailureIsAStorageError() {
        val key = AndroidKeystoreDeviceKey(strongBox = false)
        val first = key.publicKey()
        key.delete()
        assertTrue(!first.contentEquals(key.publicKey()), "a new key after deletion")

        Security.removeProvider(keystore.name)
        val e = assertFailsWith<FieldCheckException.Storage> { AndroidKeystoreDeviceKey(strongBox = false).sign(ByteArray(1)) }
        assertTrue("Android Keystore" in e.reason, e.reason)
    }

    @Test
    fun aDeviceEnrolsAndPushesSignedByItsKeystoreKeyOverOkHttp() = runBlocking<Unit> {
        val server = TestServer(dir)
        try {
            val clock = MutableClock(Fixtures.instant("2026-03-02T02:00:00Z"))
            val a1 = agent("a1")
            FieldCheckClient.open(File(dir, "device.db").path, FixedLocationSource(HQ_LAT, HQ_LON, clock = clock), clock).use { c ->
                c.withCore { now -> importSites(admin, Fixtures.SITES, now) }
                c.setConsent(a1, Permission.LOCATION, true)
                c.checkIn(a1)
                val key = AndroidKeystoreDeviceKey(strongBox = true)
                val transport = OkHttpTransport()
                c.enrol(server.url, server.enrolCode("a1"), key, transport)
                assertEquals(0L, c.push(key, transport).pending)
                assertEquals(1, server.eventCount("a1"))
                // The key gone (app data cleared): the server does not know the new one.
                key.delete()
                c.checkOut(a1)
                val refused = assertFailsWith<FieldCheckException.ServerRefused> { c.push(key, transport) }
                assertEquals(401, refused.status.toInt())
                assertEquals(1, server.eventCount("a1"))
            }
        } finally {
            server.stop()
        }
    }
}
