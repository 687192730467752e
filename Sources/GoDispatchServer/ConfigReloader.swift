import Dispatch
import Foundation
import GoDispatchCore
import Logging

/// Reloads the configuration file on SIGHUP or when it changes (`serve --watch`): parse, validate and
/// compile off to the side; on any error keep serving the old configuration and log every error with
/// file:line:column; on success swap atomically and log what changed.
public final class ConfigReloader: Sendable {
    private let engine: Engine
    private let file: String
    private let adjust: @Sendable (inout EngineConfig) -> Void
    private let applied: @Sendable (EngineConfig) -> Void
    private let logger: Logger
    private let serial = Locked(())
    /// Keeps the signal and timer sources alive.
    private let sources = Locked<[KeptSource]>([])

    private struct KeptSource: @unchecked Sendable { let source: any DispatchSourceProtocol }

    /// Reloads `file` into `engine`; `adjust` re-applies command-line overrides (host, port);
    /// `applied` runs after each reload the engine took (the listeners re-read their TLS files there).
    public init(
        engine: Engine, file: String, logger: Logger, adjust: @escaping @Sendable (inout EngineConfig) -> Void = { _ in },
        applied: @escaping @Sendable (EngineConfig) -> Void = { _ in }
    ) {
        self.engine = engine
        self.file = file
        self.logger = logger
        self.adjust = adjust
        self.applied = applied
    }

    /// Reloads now; returns true if the new configuration is in use. One reload at a time.
    @discardableResult
    public func reload(reason: String) -> Bool {
        serial.withLock { _ in
            do {
                var settings = try ConfigLoader().load(file: file)
                adjust(&settings)
                let report = try engine.reload(settings)
                logger.notice(
                    "config reloaded",
                    metadata: [
                        "trigger": "\(reason)", "added": "\(report.added.count)", "removed": "\(report.removed.count)",
                        "changed": "\(report.changed.count)", "events": "\(settings.events.count)",
                        "new_plugins": "\(report.newPlugins.count)",
                        "server_events_added": "\(report.serverEventsAdded.count)",
                        "server_events_removed": "\(report.serverEventsRemoved.count)",
                        "server_events_changed": "\(report.serverEventsChanged.count)",
                    ])
                for setting in report.ignoredUntilRestart {
                    logger.warning("setting changed but takes effect only after a restart", metadata: ["setting": "\(setting)"])
                }
                applied(settings)
                return true
            } catch let errors as ConfigErrors {
                report(errors.description, reason: reason)
            } catch let error as EngineStartError {
                report(error.description, reason: reason)
            } catch {
                report("\(error)", reason: reason)
            }
            return false
        }
    }

    private func report(_ text: String, reason: String) {
        logger.error("config reload failed; still serving the previous configuration", metadata: ["trigger": "\(reason)"])
        for line in text.split(separator: "\n") { logger.error("\(line)") }
    }

    /// Reloads on SIGHUP.
    public func reloadOnSIGHUP() {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { [self] in reload(reason: "SIGHUP") }
        source.resume()
        let kept = KeptSource(source: source)
        sources.withLock { $0.append(kept) }
    }

    /// Reloads when the file's modification time or size changes (checked every `interval`).
    public func watch(interval: Duration = .seconds(1)) {
        let timer = DispatchSource.makeTimerSource(queue: .global())
        let state = Locked(Self.stamp(file))
        timer.schedule(deadline: .now() + interval.timeInterval, repeating: interval.timeInterval)
        timer.setEventHandler { [self] in
            let now = Self.stamp(file)
            let changed = state.withLock { last in
                defer { last = now }
                return now != last
            }
            if changed { reload(reason: "file changed") }
        }
        timer.resume()
        let kept = KeptSource(source: timer)
        sources.withLock { $0.append(kept) }
    }

    private static func stamp(_ file: String) -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: file)
        return "\((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)-\(attributes?[.size] ?? 0)"
    }
}
