import FieldCheckCore
import Foundation

/// Keeps an enrolled device in step with its server while the app runs:
/// pushes the outbox and pulls decisions right after each check-in or
/// check-out made through `service` (when `isOnline`), and every `interval`
/// otherwise. A failed round (unreachable after the core's own retries, a
/// 5xx) waits `firstBackoff`, doubling up to `maxBackoff`, and resets on
/// success. A 401 or 403 (the device was revoked, or its key is not the
/// enrolled one) ends the loop: retrying cannot help, the app must enrol
/// again.
///
/// The protocol (batches, signatures, acknowledgements, per-request
/// retries) is the core's; this loop only decides when to call it. Run it
/// in a `Task` and cancel the task to stop it:
///
///     let syncTask = Task { await BackgroundSync(service: service, keystore: key, transport: transport).run() }
///
/// When the app is in the background, call `runOnce()` from a
/// BGTaskScheduler task (see the README).
public final class BackgroundSync: Sendable {
    /// What one round did.
    public enum Round: Sendable, Equatable {
        case synced(events: UInt64, decisions: UInt64)
        /// `isOnline` said no: nothing was tried.
        case offline
        /// Failed; tried again after `retryIn` seconds.
        case failed(reason: String, retryIn: TimeInterval)
        /// The server refused this device for good (401/403); the loop has ended.
        case stopped(status: UInt16, problem: String?)
    }

    private let service: FieldCheckService
    private let wire: Wire
    private let interval: TimeInterval
    private let firstBackoff: TimeInterval
    private let maxBackoff: TimeInterval
    private let isOnline: @Sendable () -> Bool
    private let onRound: @Sendable (Round) -> Void
    private let failures = Counter()

    public init(
        service: FieldCheckService,
        keystore: any DeviceKeystore,
        transport: any HttpTransport,
        interval: TimeInterval = 15 * 60,
        firstBackoff: TimeInterval = 30,
        maxBackoff: TimeInterval = 30 * 60,
        isOnline: @escaping @Sendable () -> Bool = { true },
        onRound: @escaping @Sendable (Round) -> Void = { _ in }
    ) {
        self.service = service
        wire = Wire(keystore: keystore, transport: transport)
        self.interval = interval
        self.firstBackoff = firstBackoff
        self.maxBackoff = maxBackoff
        self.isOnline = isOnline
        self.onRound = onRound
    }

    /// Loops until its task is cancelled (returns nil) or the server refuses
    /// the device for good (returns that round).
    public func run() async -> Round? {
        while !Task.isCancelled {
            let round = await runOnce()
            onRound(round)
            switch round {
            case .stopped:
                return round
            case let .failed(_, retryIn):
                // Check-ins during a backoff wait for it: hammering a failing server helps nobody.
                try? await Task.sleep(nanoseconds: UInt64(retryIn * 1e9))
            case .synced, .offline:
                // Woken early by the next check-in or check-out.
                await service.outboxChanged.wait(timeout: interval)
            }
        }
        return nil
    }

    /// One push and pull now; never throws a sync failure.
    public func runOnce() async -> Round {
        guard isOnline() else { return .offline }
        do {
            let pushed = try await service.push(keystore: wire.keystore, transport: wire.transport)
            let pulled = try await service.pull(transport: wire.transport)
            failures.reset()
            return .synced(events: pushed.events, decisions: pulled.decisions)
        } catch let FieldCheckError.ServerRefused(status, problem, _) where status == 401 || status == 403 {
            return .stopped(status: status, problem: problem)
        } catch {
            let n = failures.increment()
            let retryIn = min(firstBackoff * pow(2, Double(min(n, 20))), maxBackoff)
            return .failed(reason: String(describing: error), retryIn: retryIn)
        }
    }
}

/// The foreign capabilities, carried across tasks (the generated protocols
/// are not marked `Sendable`; the core calls them from one thread at a time).
private final class Wire: @unchecked Sendable {
    let keystore: any DeviceKeystore
    let transport: any HttpTransport
    init(keystore: any DeviceKeystore, transport: any HttpTransport) {
        self.keystore = keystore
        self.transport = transport
    }
}

/// Consecutive failed rounds; returns the count before this one.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value - 1
    }
    func reset() {
        lock.lock()
        defer { lock.unlock() }
        value = 0
    }
}

/// A wake-up that coalesces: signals while nobody waits leave one pending,
/// and a waiter returns on the first signal or after its timeout.
public final class SyncSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending = false

    public init() {}

    public func signal() {
        condition.lock()
        pending = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for a signal, `timeout` seconds, or the task's cancellation,
    /// off the cooperative pool (a blocking wait must not hold one of its
    /// few threads).
    func wait(timeout: TimeInterval) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                DispatchQueue.global(qos: .utility).async {
                    self.condition.lock()
                    let deadline = Date(timeIntervalSinceNow: timeout)
                    while !self.pending, self.condition.wait(until: deadline) {}
                    self.pending = false
                    self.condition.unlock()
                    done.resume()
                }
            }
        } onCancel: {
            signal()
        }
    }
}
