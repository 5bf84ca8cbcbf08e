import Foundation
import PackagePlugin

/// Writes `BuildCommit.swift` (`let buildCommit = "<git commit>[-dirty]"`, or "unknown" outside a
/// git checkout) before every build, for `--version`. Rewritten only when the commit changes, so
/// an unchanged tree recompiles nothing.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let out = context.pluginWorkDirectoryURL.appending(path: "BuildInfo")
        let script = """
            mkdir -p "$1" || exit 1
            c=$(git -C "$2" rev-parse --short=12 HEAD 2>/dev/null) || c=unknown
            if [ "$c" != unknown ] && [ -n "$(git -C "$2" status --porcelain --untracked-files=no 2>/dev/null | head -1)" ]; then c="$c-dirty"; fi
            printf 'let buildCommit = "%s"\\n' "$c" > "$1/BuildCommit.swift.new"
            if cmp -s "$1/BuildCommit.swift.new" "$1/BuildCommit.swift"; then rm -f "$1/BuildCommit.swift.new"; else mv "$1/BuildCommit.swift.new" "$1/BuildCommit.swift"; fi
            """
        return [.prebuildCommand(displayName: "git commit for --version", executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: ["-c", script, "sh", out.path, context.package.directoryURL.path],
                                 outputFilesDirectory: out)]
    }
}
