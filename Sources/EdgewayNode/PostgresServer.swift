import Foundation
import SystemPackage

/// A PostgreSQL server of the lab's own (issue: registrar cluster): Debian's `initdb` and
/// `pg_ctl` on a cluster folder under the lab's data, listening on loopback only, trust
/// authentication for the `edgeway` role. A second start reuses the folder and its bindings.
///
/// As root the server runs as the `postgres` user (PostgreSQL refuses root), which then owns
/// the folder. A watcher stops the server when the process that started it ends, even by SIGKILL.
public struct PostgresServer: Sendable {
    /// The cluster folder.
    public let folder: URL
    /// The loopback port it listens on.
    public let port: Int

    /// The URL a registrar's `store:` takes.
    public var url: String { "postgres://edgeway@127.0.0.1:\(port)/postgres" }

    /// Starts the server in `folder` (created and initialised when empty) on `port` (0: a free
    /// one), waiting until it accepts connections. A `temporary` server's folder is removed when
    /// the process that started it ends.
    ///
    /// - Throws: ``NodeConfigurationError`` naming the missing program or the server's own
    ///   message (from its log) when it cannot start.
    public static func start(in folder: URL, port: Int = 0, temporary: Bool = false) async throws -> PostgresServer {
        let initdb = try program("initdb"), pgCtl = try program("pg_ctl")
        let asRoot = getuid() == 0
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if asRoot {
            // The server's user must reach its folder: the folders above it are opened for
            // traversal only (x for others, no listing; the README says so), and the folder
            // itself is handed over.
            var parent = folder.deletingLastPathComponent()
            while parent.path != "/" {
                let mode = (try? FileManager.default.attributesOfItem(atPath: parent.path)[.posixPermissions] as? Int) ?? 0o755
                if mode & 0o001 == 0 { try FileManager.default.setAttributes([.posixPermissions: mode | 0o011], ofItemAtPath: parent.path) }
                parent = parent.deletingLastPathComponent()
            }
            try await run("/bin/chown", ["-R", "postgres:postgres", folder.path], asRoot: false)
        }
        if !FileManager.default.fileExists(atPath: folder.appendingPathComponent("PG_VERSION").path) {
            try await run(initdb, ["-D", folder.path, "-U", "edgeway", "--auth=trust", "-E", "UTF8", "--no-sync"], asRoot: asRoot)
        }
        let chosen = port == 0 ? try freePort() : port
        let log = folder.appendingPathComponent("server.log").path
        do {
            try await run(pgCtl, ["-D", folder.path, "-l", log, "-w", "-t", "30", "start",
                            "-o", "-p \(chosen) -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c max_connections=200"],
                    asRoot: asRoot)
        } catch {
            let tail = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: "\n") ?? ""
            throw NodeConfigurationError(path: folder.path, key: nil, problem: "PostgreSQL did not start on 127.0.0.1:\(chosen): \(error)\n\(tail)")
        }
        let server = PostgresServer(folder: folder, port: chosen)
        server.stopWhenThisProcessEnds(pgCtl: pgCtl, asRoot: asRoot, removing: temporary)
        return server
    }

    /// Stops the server (fast shutdown: open sessions are rolled back, nothing committed is lost).
    public func stop() async {
        guard let pgCtl = try? Self.program("pg_ctl") else { return }
        try? await Self.run(pgCtl, ["-D", folder.path, "-m", "fast", "-w", "stop"], asRoot: getuid() == 0)
    }

    /// A shell that waits for this process to end and then stops the server — only the one
    /// started here: a lab started again at once on the same folder runs a server of its own,
    /// with another postmaster process id, which this watcher leaves alone.
    private func stopWhenThisProcessEnds(pgCtl: String, asRoot: Bool, removing: Bool) {
        let postmaster = (try? String(contentsOf: folder.appendingPathComponent("postmaster.pid"), encoding: .utf8))?
            .split(separator: "\n").first.map(String.init) ?? ""
        // Paths go in as arguments, never into the script's text.
        let script = """
            while kill -0 "$1" 2>/dev/null; do sleep 1; done
            [ "$(head -n 1 "$3/postmaster.pid" 2>/dev/null)" = "$6" ] || exit 0
            if [ "$4" = root ]; then runuser -u postgres -- "$2" -D "$3" -m fast -w stop; else "$2" -D "$3" -m fast -w stop; fi
            [ "$5" = remove ] && rm -rf "$3"
            """
        let arguments = ["-c", script, "edgeway-postgres-watcher", "\(getpid())", pgCtl, folder.path, asRoot ? "root" : "user",
                         removing ? "remove" : "keep", postmaster]
        guard let null = try? FileDescriptor.open("/dev/null", .writeOnly) else { return }
        Task {
            defer { try? null.close() }
            _ = try? await ChildProcess.start("/bin/sh", arguments, output: null)
        }
    }

    /// `name` on the PATH or in Debian's versioned folder.
    static func program(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        var folders = path.split(separator: ":").map(String.init)
        let debian = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: debian)) ?? []).sorted { $0.compare($1, options: .numeric) == .orderedDescending }
        folders += versions.map { "\(debian)/\($0)/bin" }
        if let found = folders.map({ "\($0)/\(name)" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        throw NodeConfigurationError(path: name, key: nil, problem: "PostgreSQL's \(name) was not found on the PATH or in \(debian)/*/bin; install Debian's postgresql package")
    }

    /// Runs a program to its end; throws with its output when it fails. The output goes through
    /// a file, not a pipe: a server the program starts keeps a pipe open after it exits.
    private static func run(_ program: String, _ arguments: [String], asRoot: Bool) async throws {
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-\(UUID().uuidString).out")
        let output = try FileDescriptor.open(outputFile.path, .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite)
        defer {
            try? output.close()
            try? FileManager.default.removeItem(at: outputFile)
        }
        // From /: the postgres user may not reach the current folder.
        let child = try await ChildProcess.start(asRoot ? "/usr/sbin/runuser" : program,
                                                 asRoot ? ["-u", "postgres", "--", program] + arguments : arguments,
                                                 directory: "/", output: output)
        _ = await child.exited(within: .seconds(120))
        let status = child.exitStatus ?? -1
        guard status == 0 else {
            let text = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
            throw NodeConfigurationError(path: program, key: nil, problem: "exited with status \(status): \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    /// A loopback TCP port free at this moment.
    private static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw NodeConfigurationError(path: "127.0.0.1", key: nil, problem: "no free port for PostgreSQL") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
