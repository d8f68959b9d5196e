import CLiteShim
import LiteIPC
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct SharedRegionTests {
    @Test func createdRegionIsZeroedAndPageRounded() throws {
        let region = try SharedRegion(size: 100)
        #expect(region.size == 4096)
        let bytes = UnsafeRawBufferPointer(start: region.base, count: region.size)
        #expect(bytes.allSatisfy { $0 == 0 })
    }

    @Test func peerCannotShrinkOrGrowTheRegion() throws {
        let region = try SharedRegion(size: 8192)
        #expect(ftruncate(region.fd, 0) == -1)
        #expect(errno == EPERM)
        #expect(ftruncate(region.fd, 1 << 20) == -1)
        #expect(errno == EPERM)
    }

    @Test func secondMappingOfTheFDSeesTheSameBytes() throws {
        let region = try SharedRegion(size: 4096)
        let dupFD = dup(region.fd)
        let other = try SharedRegion(inheritedFD: dupFD)
        region.base.storeBytes(of: 0xDEAD_BEEF as UInt32, as: UInt32.self)
        #expect(other.base.load(as: UInt32.self) == 0xDEAD_BEEF)
    }

    @Test func unsealedFDIsRefused() throws {
        let fd = ls_memfd_create("unsealed", 0)
        #expect(fd >= 0)
        #expect(ftruncate(fd, 4096) == 0)
        #expect(throws: (any Error).self) { _ = try SharedRegion(inheritedFD: fd) }
        close(fd)
    }
}
