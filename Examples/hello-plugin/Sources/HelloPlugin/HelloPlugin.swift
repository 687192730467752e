import CGoDispatchABI
import GoDispatchPluginKit

/// A greeting action: a static param checked at start-up, the cargo, and host calls.
///
/// ```yaml
/// events:
///   hello:
///     pipeline:
///       - id: greet
///         action: hello
///         params: { greeting: Bonjour, name: "{{payload.name}}" }
/// ```
/// sends `{"event":"hello","payload":{"text":"Bonjour, Ada!","by":"<user id>"}}` to the sender, and
/// leaves `{"text":…}` as the step's result for later steps (`{{steps.greet.text}}`).
let helloPlugin = PluginDefinition(
    name: "hello",
    version: "1.0.0",
    description: "An example third-party plugin",
    actions: [
        ActionDefinition(
            name: "hello",
            description: "Greet the sender: `greeting` (literal) and `name` (defaults to the user id)",
            // It answers the sender: a server event (no sender) may not use it, and gets a load error.
            needsOrigin: true,
            instantiate: { config throws(ActionError) in
                try config.allowOnly(["greeting", "name"])
                guard let greeting = config.literalString("greeting"), !greeting.isEmpty else {
                    throw .invalid("hello needs a literal, non-empty `greeting`, e.g. greeting: Bonjour")
                }
                return Greeting(greeting)
            },
            invoke: { call, state in
                let greeting = (state as? Greeting)?.text ?? "Hello"
                let user = call.cargo("user.id").stringValue ?? "stranger"
                let name = call.param("name").stringValue ?? user
                let text = "\(greeting), \(name)!"
                let json = #"{"text":\#(JSONString.quote(text)),"by":\#(JSONString.quote(user))}"#
                let sent = withGDString("hello") { event in
                    withGDString(json) { payload in
                        call.withMessage(event: event, payload: gd_value(kind: Int32(GD_VALUE_JSON.rawValue), text: payload)) {
                            call.host.pointee.send_origin(call.raw, $0)
                        }
                    }
                }
                guard sent >= 0 else { return .failure(.failed("could not reach the sender")) }
                call.setResult(json: #"{"text":\#(JSONString.quote(text))}"#)
                PluginLog.write(GD_LOG_DEBUG, "greeted \(user)", plugin: "hello", host: call.host)
                return .ok
            })
    ]
)

/// The greeting fixed at start-up.
final class Greeting: Sendable {
    let text: String
    init(_ text: String) { self.text = text }
}

/// The entry symbol; with the kit's toolchain identity, the only symbols the library exports (see exports.map).
@_cdecl("godispatch_plugin_entry_v1")
public func godispatchPluginEntry(_ host: UnsafePointer<gd_host_api>?) -> UnsafePointer<gd_plugin_descriptor>? {
    helloPlugin.export(host: host)
}
