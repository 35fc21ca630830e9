package app.fieldcheck.net

import app.fieldcheck.core.FieldCheckException
import app.fieldcheck.core.HttpRequest
import app.fieldcheck.core.HttpResponse
import app.fieldcheck.core.HttpTransport
import java.io.IOException
import java.time.Duration
import java.time.Instant
import java.time.ZonedDateTime
import java.time.format.DateTimeFormatter
import java.time.format.DateTimeParseException
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody

/**
 * The core's HTTP transport over OkHttp: moves one request's bytes and
 * reports the status. Every protocol decision (signing, retries and their
 * backoff, acknowledgements) is the core's, so a 4xx or 5xx is returned as
 * an answer and only a network failure (refused, reset, timed out, TLS)
 * throws, as [FieldCheckException.Unreachable].
 *
 * TLS is OkHttp's platform default (system trust store, modern cipher
 * suites); pass your own [client] to pin certificates or add a proxy. No
 * interceptor logs anything: batches are personal data and the headers
 * carry the device token and signature.
 *
 * The core calls [exchange] from its own worker thread and waits, so the
 * call is OkHttp's blocking `execute()`.
 */
class OkHttpTransport(private val client: OkHttpClient = defaultClient()) : HttpTransport {
    override fun exchange(request: HttpRequest): HttpResponse {
        val body = if (request.method == "POST") request.body.toRequestBody() else null
        val call = Request.Builder()
            .url(request.url)
            .method(request.method, body)
            .apply { request.headers.forEach { header(it.name, it.value) } }
            .build()
        try {
            client.newCall(call).execute().use { response ->
                return HttpResponse(
                    status = response.code.toUShort(),
                    retryAfterS = response.header("Retry-After")?.let { retryAfterSeconds(it, Instant.now()) },
                    body = response.body.bytes(),
                )
            }
        } catch (e: IOException) {
            // The class name says which failure (SocketTimeoutException, SSLHandshakeException...);
            // the message never holds the body or the headers.
            throw FieldCheckException.Unreachable("${e.javaClass.simpleName}: ${e.message}")
        } catch (e: IllegalArgumentException) {
            throw FieldCheckException.InvalidInput("url", e.message ?: "not an HTTP URL")
        }
    }

    companion object {
        /**
         * Bounded at every step: a stalled server costs at most [callTimeout]
         * per attempt, within the core's retry budget (PRODUCT.md §12.2).
         */
        fun defaultClient(
            connectTimeout: Duration = Duration.ofSeconds(10),
            readTimeout: Duration = Duration.ofSeconds(30),
            callTimeout: Duration = Duration.ofSeconds(60),
        ): OkHttpClient = OkHttpClient.Builder()
            .connectTimeout(connectTimeout)
            .readTimeout(readTimeout)
            .writeTimeout(readTimeout)
            .callTimeout(callTimeout)
            // Retries are the core's (same bytes, its backoff, its budget): OkHttp's
            // silent retry of a failed connection would add attempts it cannot count.
            .retryOnConnectionFailure(false)
            // Redirects would move a signed batch to another origin: the wire has none.
            .followRedirects(false)
            .followSslRedirects(false)
            .build()

        /**
         * `Retry-After` in seconds from now: delta-seconds or an HTTP-date
         * (RFC 9110 §10.2.3); null when it is neither. A date in the past is 0.
         */
        fun retryAfterSeconds(value: String, now: Instant): ULong? {
            value.trim().toULongOrNull()?.let { return it }
            return try {
                val at = ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant()
                Duration.between(now, at).seconds.coerceAtLeast(0).toULong()
            } catch (e: DateTimeParseException) {
                null
            }
        }
    }
}
