// A typed errno, shared by every layer (LiteIPC, LiteFS, LiteNet, LiteShieldCore)
// so that an error a service returns to a guest is the number Linux would give.

#if canImport(Glibc)
import Glibc
#endif

/// A Linux errno value.
public struct Errno: RawRepresentable, Hashable, Sendable, Error, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current errno.
    public static var current: Errno { Errno(rawValue: errno) }

    public var description: String {
        let name = Errno.names[rawValue] ?? "errno \(rawValue)"
        guard let message = strerror(rawValue) else { return name }
        return "\(name) (\(String(cString: message)))"
    }

    public static let EPERM = Errno(rawValue: 1)
    public static let ENOENT = Errno(rawValue: 2)
    public static let ESRCH = Errno(rawValue: 3)
    public static let EINTR = Errno(rawValue: 4)
    public static let EIO = Errno(rawValue: 5)
    public static let ENXIO = Errno(rawValue: 6)
    public static let E2BIG = Errno(rawValue: 7)
    public static let ENOEXEC = Errno(rawValue: 8)
    public static let EBADF = Errno(rawValue: 9)
    public static let ECHILD = Errno(rawValue: 10)
    public static let EAGAIN = Errno(rawValue: 11)
    public static let ENOMEM = Errno(rawValue: 12)
    public static let EACCES = Errno(rawValue: 13)
    public static let EFAULT = Errno(rawValue: 14)
    public static let EBUSY = Errno(rawValue: 16)
    public static let EEXIST = Errno(rawValue: 17)
    public static let EXDEV = Errno(rawValue: 18)
    public static let ENODEV = Errno(rawValue: 19)
    public static let ENOTDIR = Errno(rawValue: 20)
    public static let EISDIR = Errno(rawValue: 21)
    public static let EINVAL = Errno(rawValue: 22)
    public static let ENFILE = Errno(rawValue: 23)
    public static let EMFILE = Errno(rawValue: 24)
    public static let ENOTTY = Errno(rawValue: 25)
    public static let EFBIG = Errno(rawValue: 27)
    public static let ENOSPC = Errno(rawValue: 28)
    public static let ESPIPE = Errno(rawValue: 29)
    public static let EROFS = Errno(rawValue: 30)
    public static let EMLINK = Errno(rawValue: 31)
    public static let EPIPE = Errno(rawValue: 32)
    public static let ERANGE = Errno(rawValue: 34)
    public static let EDEADLK = Errno(rawValue: 35)
    public static let ENAMETOOLONG = Errno(rawValue: 36)
    public static let ENOSYS = Errno(rawValue: 38)
    public static let ENOTEMPTY = Errno(rawValue: 39)
    public static let ELOOP = Errno(rawValue: 40)
    public static let ENODATA = Errno(rawValue: 61)
    public static let ETIME = Errno(rawValue: 62)
    public static let EPROTO = Errno(rawValue: 71)
    public static let EOVERFLOW = Errno(rawValue: 75)
    public static let EBADMSG = Errno(rawValue: 74)
    public static let ENOTSOCK = Errno(rawValue: 88)
    public static let EDESTADDRREQ = Errno(rawValue: 89)
    public static let EMSGSIZE = Errno(rawValue: 90)
    public static let EPROTOTYPE = Errno(rawValue: 91)
    public static let ENOPROTOOPT = Errno(rawValue: 92)
    public static let EPROTONOSUPPORT = Errno(rawValue: 93)
    public static let EOPNOTSUPP = Errno(rawValue: 95)
    public static let EAFNOSUPPORT = Errno(rawValue: 97)
    public static let EADDRINUSE = Errno(rawValue: 98)
    public static let EADDRNOTAVAIL = Errno(rawValue: 99)
    public static let ENETDOWN = Errno(rawValue: 100)
    public static let ENETUNREACH = Errno(rawValue: 101)
    public static let ECONNABORTED = Errno(rawValue: 103)
    public static let ECONNRESET = Errno(rawValue: 104)
    public static let ENOBUFS = Errno(rawValue: 105)
    public static let EISCONN = Errno(rawValue: 106)
    public static let ENOTCONN = Errno(rawValue: 107)
    public static let ESHUTDOWN = Errno(rawValue: 108)
    public static let ETIMEDOUT = Errno(rawValue: 110)
    public static let ECONNREFUSED = Errno(rawValue: 111)
    public static let EHOSTUNREACH = Errno(rawValue: 113)
    public static let EALREADY = Errno(rawValue: 114)
    public static let EINPROGRESS = Errno(rawValue: 115)
    public static let EUCLEAN = Errno(rawValue: 117)
    public static let EOWNERDEAD = Errno(rawValue: 130)

    static let names: [Int32: String] = [
        1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC",
        9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT",
        16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR",
        22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 25: "ENOTTY", 27: "EFBIG", 28: "ENOSPC",
        29: "ESPIPE", 30: "EROFS", 31: "EMLINK", 32: "EPIPE", 34: "ERANGE", 35: "EDEADLK",
        36: "ENAMETOOLONG", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 61: "ENODATA",
        62: "ETIME", 71: "EPROTO", 74: "EBADMSG", 75: "EOVERFLOW", 88: "ENOTSOCK",
        89: "EDESTADDRREQ", 90: "EMSGSIZE", 91: "EPROTOTYPE", 92: "ENOPROTOOPT",
        93: "EPROTONOSUPPORT", 95: "EOPNOTSUPP", 97: "EAFNOSUPPORT", 98: "EADDRINUSE",
        99: "EADDRNOTAVAIL", 100: "ENETDOWN", 101: "ENETUNREACH", 103: "ECONNABORTED",
        104: "ECONNRESET", 105: "ENOBUFS", 106: "EISCONN", 107: "ENOTCONN", 108: "ESHUTDOWN",
        110: "ETIMEDOUT", 111: "ECONNREFUSED", 113: "EHOSTUNREACH", 114: "EALREADY",
        115: "EINPROGRESS", 117: "EUCLEAN", 130: "EOWNERDEAD",
    ]
}
