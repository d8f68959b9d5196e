// Writing a guest's bytes to a host fd (the sandbox's stdout and stderr, /dev/tty):
// all of them, across short writes and EINTR.

import LiteSystem
#if canImport(Glibc)
import Glibc
#endif

/// Writes all of `bytes` to the host fd `fd`. After some bytes went out, an error
/// ends the write with the count so far (as write(2) reports a short write);
/// before any did, it is thrown.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(Errno) -> Int {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
        if n < 0 {
            if errno == EINTR { continue }
            if offset > 0 { return offset }
            throw Errno.current
        }
        offset += n
    }
    return offset
}
