import FieldCheckCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The core's HTTP transport over URLSession: moves one request's bytes
/// and reports the status; every protocol decision (retries, signing,
/// acknowledgements) is the core's. Never logs bodies or headers.
public final class URLSessionTransport: HttpTransport, @unchecked Sendable {
    private let session: URLSession

    public init(timeout: TimeInterval = 30) {
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        config.timeoutIntervalForResource = timeout * 2
        config.urlCache = nil
        session = URLSession(configuration: config)
    }

    public func exchange(request: HttpRequest) throws -> HttpResponse {
        guard let url = URL(string: request.url) else {
            throw FieldCheckError.InvalidInput(field: "url", reason: "not a URL: \(request.url)")
        }
        var r = URLRequest(url: url)
        r.httpMethod = request.method
        for h in request.headers { r.setValue(h.value, forHTTPHeaderField: h.name) }
        if request.method == "POST" { r.httpBody = request.body }

        // The core calls from its own worker thread and waits for the answer.
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<(Data, HTTPURLResponse), Error>?
        let task = session.dataTask(with: r) { data, response, error in
            if let error {
                outcome = .failure(error)
            } else if let http = response as? HTTPURLResponse {
                outcome = .success((data ?? Data(), http))
            } else {
                outcome = .failure(URLError(.badServerResponse))
            }
            done.signal()
        }
        task.resume()
        done.wait()
        switch outcome {
        case let .success((data, http)):
            let retryAfter = (http.value(forHTTPHeaderField: "Retry-After")).flatMap { UInt64($0) }
            return HttpResponse(status: UInt16(http.statusCode), retryAfterS: retryAfter, body: data)
        case let .failure(error):
            throw FieldCheckError.Unreachable(reason: String(describing: error))
        case nil:
            throw FieldCheckError.Unreachable(reason: "no answer")
        }
    }
}
