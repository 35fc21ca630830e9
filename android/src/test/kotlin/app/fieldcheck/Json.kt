package app.fieldcheck

/**
 * A small strict JSON (RFC 8259) reader and writer for the test fixtures, so
 * the suite needs no JSON library on the JVM classpath (Android's org.json
 * is not on it, and Debian's packages are other APIs or versions than an app
 * would ship). Objects keep their key order and refuse duplicate keys;
 * integers without fraction or exponent that fit become [Long], other
 * numbers [Double] (parsed by the JDK, correctly rounded); anything after
 * the value, a trailing comma, a control character in a string or a lone
 * surrogate escape is an error naming the offset.
 */
object Json {
    fun parse(text: String): Any? {
        val p = Parser(text)
        p.ws()
        val value = p.value()
        p.ws()
        if (p.i != text.length) p.fail("unexpected content after the value")
        return value
    }

    fun write(value: Any?): String = StringBuilder().also { write(value, it) }.toString()

    private fun write(value: Any?, out: StringBuilder) {
        when (value) {
            null -> out.append("null")
            is Boolean, is Long, is Int -> out.append(value.toString())
            is Double -> {
                require(value.isFinite()) { "JSON has no $value" }
                out.append(value.toString()) // reads back to the same double
            }
            is String -> writeString(value, out)
            is List<*> -> {
                out.append('[')
                value.forEachIndexed { i, v -> if (i > 0) out.append(','); write(v, out) }
                out.append(']')
            }
            is Map<*, *> -> {
                out.append('{')
                value.entries.forEachIndexed { i, (k, v) ->
                    if (i > 0) out.append(',')
                    writeString(k as String, out)
                    out.append(':')
                    write(v, out)
                }
                out.append('}')
            }
            else -> throw IllegalArgumentException("not a JSON value: ${value::class}")
        }
    }

    private fun writeString(s: String, out: StringBuilder) {
        out.append('"')
        for (c in s) {
            when {
                c == '"' -> out.append("\\\"")
                c == '\\' -> out.append("\\\\")
                c < ' ' -> out.append("\\u%04x".format(c.code))
                else -> out.append(c)
            }
        }
        out.append('"')
    }

    private class Parser(val s: String) {
        var i = 0

        fun fail(msg: String): Nothing = throw IllegalArgumentException("JSON offset $i: $msg")

        fun ws() {
            while (i < s.length && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++
        }

        fun expect(c: Char) {
            if (i >= s.length || s[i] != c) fail("expected '$c'")
            i++
        }

        fun value(): Any? {
            if (i >= s.length) fail("unexpected end")
            return when (s[i]) {
                '{' -> obj()
                '[' -> arr()
                '"' -> str()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> num()
            }
        }

        fun literal(word: String, v: Any?): Any? {
            if (!s.startsWith(word, i)) fail("unexpected character '${s[i]}'")
            i += word.length
            return v
        }

        fun obj(): Map<String, Any?> {
            expect('{')
            val m = LinkedHashMap<String, Any?>()
            ws()
            if (i < s.length && s[i] == '}') { i++; return m }
            while (true) {
                ws()
                if (i >= s.length || s[i] != '"') fail("expected a key")
                val k = str()
                if (k in m) fail("duplicate key \"$k\"")
                ws(); expect(':'); ws()
                m[k] = value()
                ws()
                if (i < s.length && s[i] == ',') { i++; continue }
                expect('}')
                return m
            }
        }

        fun arr(): List<Any?> {
            expect('[')
            val l = ArrayList<Any?>()
            ws()
            if (i < s.length && s[i] == ']') { i++; return l }
            while (true) {
                ws()
                l.add(value())
                ws()
                if (i < s.length && s[i] == ',') { i++; continue }
                expect(']')
                return l
            }
        }

        fun str(): String {
            expect('"')
            val b = StringBuilder()
            while (true) {
                if (i >= s.length) fail("unterminated string")
                val c = s[i++]
                when {
                    c == '"' -> return b.toString()
                    c < ' ' -> fail("control character in a string")
                    c != '\\' -> b.append(c)
                    else -> {
                        if (i >= s.length) fail("unterminated escape")
                        when (val e = s[i++]) {
                            '"', '\\', '/' -> b.append(e)
                            'b' -> b.append('\b')
                            'f' -> b.append('\u000c')
                            'n' -> b.append('\n')
                            'r' -> b.append('\r')
                            't' -> b.append('\t')
                            'u' -> {
                                val u = hex4()
                                if (u.isHighSurrogate()) {
                                    if (!s.startsWith("\\u", i)) fail("lone surrogate")
                                    i += 2
                                    val low = hex4()
                                    if (!low.isLowSurrogate()) fail("lone surrogate")
                                    b.append(u).append(low)
                                } else if (u.isLowSurrogate()) {
                                    fail("lone surrogate")
                                } else {
                                    b.append(u)
                                }
                            }
                            else -> fail("bad escape '\\$e'")
                        }
                    }
                }
            }
        }

        fun hex4(): Char {
            if (i + 4 > s.length) fail("short \\u escape")
            val h = s.substring(i, i + 4)
            if (!h.all { it in '0'..'9' || it in 'a'..'f' || it in 'A'..'F' }) fail("bad \\u escape")
            i += 4
            return h.toInt(16).toChar()
        }

        // number = [ "-" ] int [ frac ] [ exp ]; int = "0" / 1-9 *DIGIT
        fun num(): Any {
            val start = i
            if (i < s.length && s[i] == '-') i++
            when {
                i < s.length && s[i] == '0' -> i++
                i < s.length && s[i] in '1'..'9' -> while (i < s.length && s[i].isAsciiDigit()) i++
                else -> fail("unexpected character")
            }
            var integral = true
            if (i < s.length && s[i] == '.') {
                integral = false
                i++
                digits()
            }
            if (i < s.length && (s[i] == 'e' || s[i] == 'E')) {
                integral = false
                i++
                if (i < s.length && (s[i] == '+' || s[i] == '-')) i++
                digits()
            }
            val text = s.substring(start, i)
            return (if (integral) text.toLongOrNull() else null) ?: text.toDouble()
        }

        fun digits() {
            val from = i
            while (i < s.length && s[i].isAsciiDigit()) i++
            if (i == from) fail("expected a digit")
        }

        private fun Char.isAsciiDigit() = this in '0'..'9'
    }
}
