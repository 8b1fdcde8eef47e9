/**
 * Locating and running the Debian toolchains the firmware build needs, with errors that say which
 * package to install instead of a bare ENOENT.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ZkMeterError } from '#protocol/errors.ts'

export const FIRMWARE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..')

export class ToolchainMissingError extends ZkMeterError {
  override name = 'ToolchainMissingError'
}

export class FirmwareBuildError extends ZkMeterError {
  override name = 'FirmwareBuildError'
}

/** Throws ToolchainMissingError unless `command` runs (checked with `--version` or the given args). */
export function requireTool(command: string, debianPackages: string, args: string[] = ['--version']): void {
  const probe = spawnSync(command, args, { stdio: 'ignore' })
  if (probe.error) {
    throw new ToolchainMissingError(
      `${command} is not installed: apt-get install -y ${debianPackages} (CI's .ci/run installs it)`,
      { details: { command, debianPackages } },
    )
  }
}

/** Throws ToolchainMissingError unless `path` exists. */
export function requireFile(path: string, debianPackages: string): void {
  if (!existsSync(path)) {
    throw new ToolchainMissingError(`${path} is missing: apt-get install -y ${debianPackages}`, {
      details: { path, debianPackages },
    })
  }
}

export interface RunResult {
  stdout: string
  stderr: string
}

/**
 * Runs `command` holding an exclusive lock on `lockFile` (util-linux flock): several test files,
 * benches or helpers may build the same firmware output directory at once.
 */
export function runLocked(lockFile: string, command: string, args: string[]): RunResult {
  requireTool('flock', 'util-linux')
  return run('flock', [lockFile, command, ...args])
}

/** Runs a command to completion; throws FirmwareBuildError with its output when it fails. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; quiet?: boolean } = {},
): RunResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? FIRMWARE_DIR,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: options.quiet ? 'pipe' : ['ignore', 'pipe', 'pipe'],
  })
  if (result.error)
    throw new FirmwareBuildError(`cannot run ${command}: ${result.error.message}`, { cause: result.error })
  if (result.status !== 0) {
    throw new FirmwareBuildError(
      `${command} ${args.join(' ')} failed with status ${result.status}\n${result.stdout}\n${result.stderr}`,
      { details: { command, status: result.status } },
    )
  }
  return { stdout: result.stdout, stderr: result.stderr }
}
