// The mount table: longest guest-path prefix wins. Also maps host paths back to
// guest paths (a kernel fd's /proc link names a host file; the guest must see
// where that file lives in its own tree).

import LiteFS
#if canImport(Glibc)
import Glibc
#endif

struct MountTable: Sendable {
    /// Longest guest path first, so the first match is the most specific.
    let mounts: [Mount]
    /// Each host mount's host path, as given and with symlinks resolved (e.g.
    /// /bin → /usr/bin), normalised: a host file is reachable when its
    /// resolved path lies below one of these.
    let hostRoots: [String]

    /// A later mount at the same guest path replaces an earlier one (defaults
    /// first, then the sandbox's own).
    init(_ mounts: [Mount]) {
        var byPath: [String: Mount] = [:]
        for mount in mounts { byPath[mount.guestPath] = mount }
        self.mounts = byPath.values.sorted { ($0.guestPath.count, $0.guestPath) > ($1.guestPath.count, $1.guestPath) }
        var roots: [String] = []
        for mount in self.mounts {
            guard case .host(let hostPath) = mount.source else { continue }
            roots.append(GuestPath.normalize(hostPath))
            if let real = realpath(hostPath, nil) {
                roots.append(GuestPath.normalize(String(cString: real)))
                free(real)
            }
        }
        hostRoots = roots
    }

    /// The mount serving `guestPath` (normalised) and the path below it ("/…").
    func mount(for guestPath: String) -> (mount: Mount, rest: String)? {
        for mount in mounts where GuestPath.isWithin(guestPath, mount.guestPath) {
            return (mount, GuestPath.relative(guestPath, to: mount.guestPath))
        }
        return nil
    }

    /// Mount points directly inside `directory`: they show in its listing even
    /// when the directory below them has no such entry.
    func mountPoints(in directory: String) -> [(name: String, mount: Mount)] {
        mounts.compactMap { mount in
            guard mount.guestPath != "/", GuestPath.parent(mount.guestPath) == directory else { return nil }
            return (GuestPath.lastComponent(mount.guestPath), mount)
        }
    }

    /// The guest path of a host path, through the host mount that shows it.
    func guestPath(ofHost hostPath: String) -> String? {
        var best: (mount: Mount, host: String)?
        for mount in mounts {
            guard case .host(let root) = mount.source else { continue }
            let normalisedRoot = GuestPath.normalize(root)
            guard GuestPath.isWithin(hostPath, normalisedRoot) else { continue }
            if best == nil || normalisedRoot.count > best!.host.count { best = (mount, normalisedRoot) }
        }
        guard let best else { return nil }
        let rest = GuestPath.relative(hostPath, to: best.host)
        return GuestPath.normalize(best.mount.guestPath + rest)
    }

    /// Whether a resolved host path is one a host mount shows.
    func showsHostPath(_ resolved: String) -> Bool {
        hostRoots.contains { GuestPath.isWithin(resolved, $0) }
    }
}
