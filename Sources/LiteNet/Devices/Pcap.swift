// Middleware that records every frame a device receives and transmits in the
// classic pcap format (nanosecond timestamps, LINKTYPE_ETHERNET), which tshark,
// tcpdump and Wireshark read. The format logic is pure; `PcapFile` is the sink
// that writes to a file.
#if canImport(Glibc)
import Glibc
#endif
import LiteSystem

/// Where pcap bytes go.
public protocol PcapSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer)
}

public final class PcapRecorder: NetworkDevice {
    public let inner: any NetworkDevice
    let sink: any PcapSink
    /// Added to the stack's monotonic time to get the wall-clock time written in
    /// each record, so captures line up with the kernel's.
    let epochOffsetNanoseconds: UInt64
    let snapLength: Int

    public init(wrapping inner: any NetworkDevice, sink: any PcapSink, epochOffsetNanoseconds: UInt64 = 0,
                snapLength: Int = 65535) {
        self.inner = inner
        self.sink = sink
        self.epochOffsetNanoseconds = epochOffsetNanoseconds
        self.snapLength = snapLength
        var header = [UInt8](repeating: 0, count: 24)
        putLE32(&header, 0, 0xA1B2_3C4D)  // magic: nanosecond-resolution pcap
        putLE16(&header, 4, 2)
        putLE16(&header, 6, 4)
        putLE32(&header, 16, UInt32(snapLength))
        putLE32(&header, 20, 1)  // LINKTYPE_ETHERNET
        header.withUnsafeBytes { sink.write($0) }
    }

    public var capabilities: DeviceCapabilities { inner.capabilities }
    public var hardwareAddress: MACAddress { inner.hardwareAddress }
    public var readinessDescriptor: Int32? { inner.readinessDescriptor }

    func record(_ frame: UnsafeRawBufferPointer, now: Timestamp) {
        let time = now.nanoseconds &+ epochOffsetNanoseconds
        let captured = min(frame.count, snapLength)
        var header = [UInt8](repeating: 0, count: 16)
        putLE32(&header, 0, UInt32(truncatingIfNeeded: time / 1_000_000_000))
        putLE32(&header, 4, UInt32(time % 1_000_000_000))
        putLE32(&header, 8, UInt32(captured))
        putLE32(&header, 12, UInt32(frame.count))
        header.withUnsafeBytes { sink.write($0) }
        sink.write(UnsafeRawBufferPointer(rebasing: frame[0..<captured]))
    }

    public func receive(now: Timestamp, limit: Int, _ frame: (UnsafeRawBufferPointer) -> Void) -> Int {
        inner.receive(now: now, limit: limit) { bytes in
            record(bytes, now: now)
            frame(bytes)
        }
    }

    @discardableResult
    public func transmit(now: Timestamp, length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        inner.transmit(now: now, length: length) { buffer in
            fill(buffer)
            record(UnsafeRawBufferPointer(buffer), now: now)
        }
    }

    public func flush(now: Timestamp) { inner.flush(now: now) }
    public func nextDeadline() -> Timestamp? { inner.nextDeadline() }
}

@inline(__always) func putLE16(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt16) {
    bytes[offset] = UInt8(truncatingIfNeeded: value)
    bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
}

@inline(__always) func putLE32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
    for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> UInt32(8 * i)) }
}

/// A pcap sink that collects bytes in memory (tests).
public final class PcapBuffer: PcapSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public func write(_ data: UnsafeRawBufferPointer) { bytes.append(contentsOf: data) }
}

/// A pcap sink that writes to a file, created or truncated.
public final class PcapFile: PcapSink {
    let descriptor: Int32
    public let path: String

    public init(path: String) throws(SystemCallError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SystemCallError(.current, "open", object: path, hint: "check that the directory exists and is writable")
        }
        descriptor = fd
        self.path = path
    }

    deinit { close(descriptor) }

    public func write(_ data: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < data.count {
            let written = Glibc.write(descriptor, data.baseAddress! + offset, data.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return  // a capture is best effort; the stack must not fail because of it
            }
            offset += written
        }
    }

    /// Wall-clock minus monotonic now, for `PcapRecorder(epochOffsetNanoseconds:)`.
    public static func currentEpochOffset() -> UInt64 {
        var real = timespec(), mono = timespec()
        clock_gettime(CLOCK_REALTIME, &real)
        clock_gettime(CLOCK_MONOTONIC, &mono)
        let r = UInt64(real.tv_sec) * 1_000_000_000 + UInt64(real.tv_nsec)
        let m = UInt64(mono.tv_sec) * 1_000_000_000 + UInt64(mono.tv_nsec)
        return r &- m
    }
}
