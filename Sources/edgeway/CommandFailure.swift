/// A command that cannot go on: ArgumentParser prints `Error: <description>` and exits 1, without
/// the generic usage line a `ValidationError` thrown from `run()` would add (it names the root
/// command, not the one that failed). Option grammar errors stay ArgumentParser's own.
struct CommandFailure: Error, CustomStringConvertible {
    /// What failed and, where one exists, the fix.
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
