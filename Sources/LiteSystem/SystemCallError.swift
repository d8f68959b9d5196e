// An error that says what failed, on which object, and what the user can do.

/// A failed host system call or service operation, with its context.
public struct SystemCallError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The errno the call gave.
    public var errno: Errno
    /// The call or operation, e.g. "memfd_create" or "mount".
    public var operation: String
    /// The object it acted on (a path, a fd, a name), if any.
    public var object: String?
    /// What the user can do about it, if anything useful can be said.
    public var hint: String?

    public init(_ errno: Errno, _ operation: String, object: String? = nil, hint: String? = nil) {
        self.errno = errno
        self.operation = operation
        self.object = object
        self.hint = hint
    }

    public var description: String {
        var text = operation
        if let object { text += " \(object)" }
        text += ": \(errno)"
        if let hint { text += "; \(hint)" }
        return text
    }
}
