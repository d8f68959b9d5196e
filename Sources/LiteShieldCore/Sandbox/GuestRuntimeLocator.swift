// Finds the guest runtime without configuration: next to the running executable,
// or up to two levels above it (`make runtime` writes .build/liblsguest.so; the
// executables are in .build/<triple>/<configuration>/), or where
// LITESHIELD_RUNTIME points.

#if canImport(Glibc)
import Glibc
#endif

public enum GuestRuntimeLocator {
    public static func find() -> String? {
        if let named = getenv("LITESHIELD_RUNTIME").map({ String(cString: $0) }), access(named, R_OK) == 0 {
            return resolved(named)
        }
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        var directory = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for _ in 0..<3 {
            guard let slash = directory.lastIndex(of: "/") else { return nil }
            directory = String(directory[..<slash])
            if access(directory + "/liblsguest.so", R_OK) == 0 { return resolved(directory + "/liblsguest.so") }
        }
        return nil
    }

    static func resolved(_ path: String) -> String? {
        guard let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        return String(cString: real)
    }
}
