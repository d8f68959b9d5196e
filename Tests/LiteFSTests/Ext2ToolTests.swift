// ext2-tool, the small debugfs on LiteFS's public API: each command end to end,
// and a clear message (naming the path and the errno) when something fails.

import Testing
import LiteFS

@Suite struct Ext2ToolTests {
    @Test func commandsWorkAndFailClearly() throws {
        let scratch = ScratchDirectory()
        let tool = productsDirectory() + "/ext2-tool"
        let image = scratch.file("tool.img")
        let made = run([tool, "mkfs", image, "16M", "--block-size", "2048"])
        #expect(made.status == 0 && made.output.contains("formatted"), "\(made.output)")
        let host = scratch.file("host")
        hostWrite(host, contentBytes(9, 30_000))
        for args in [["mkdir", "/docs"], ["put", host, "/docs/a.bin"], ["ln", "-s", "/docs/a.bin", "/link"],
                     ["ln", "/docs/a.bin", "/hard"], ["mv", "/hard", "/docs/b.bin"]] {
            let r = run([tool, image] + args)
            #expect(r.status == 0, "\(args): \(r.output)")
        }
        #expect(run([tool, image, "get", "/link", scratch.file("back")]).status == 0)
        #expect(hostRead(scratch.file("back")) == contentBytes(9, 30_000))
        let listing = run([tool, image, "ls", "-l", "/docs"]).output
        #expect(listing.contains("a.bin") && listing.contains("b.bin") && listing.contains("30000"))
        #expect(run([tool, image, "ls", "-l", "/"]).output.contains("link -> /docs/a.bin"))
        #expect(run([tool, image, "stat", "/docs/a.bin"]).output.contains("Links: 2"))
        #expect(run([tool, image, "df"]).output.contains("block size 2048"))
        let tree = run([tool, image, "tree"]).output
        #expect(tree.contains("├── docs") || tree.contains("└── docs"))
        #expect(run([tool, image, "cat", "/docs/b.bin"]).output.utf8.count > 0)
        let missing = run([tool, image, "cat", "/nope"])
        #expect(missing.status != 0 && missing.output.contains("ENOENT") && missing.output.contains("/nope"), "\(missing.output)")
        let notEmpty = run([tool, image, "rm", "/docs"])
        #expect(notEmpty.status != 0 && notEmpty.output.contains("rm -r"), "\(notEmpty.output)")
        #expect(run([tool, image, "rm", "-r", "/docs"]).status == 0)
        #expect(run([tool, image, "ls", "/"]).output.contains("docs") == false)
        #expect(fsck(image).clean)
        let usage = run([tool])
        #expect(usage.status != 0 && usage.output.contains("usage"))
    }
}
