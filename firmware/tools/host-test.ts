/**
 * `npm run test:firmware`: configures and builds the host build of the firmware core
 * (firmware/build/host, CMake + googletest + libsecp256k1) and runs ctest. Fails with the Debian
 * package to install when a tool is missing.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FIRMWARE_DIR, FirmwareBuildError, requireFile, requireTool, runLocked } from './toolchain.ts'

export const HOST_BUILD_DIR = join(FIRMWARE_DIR, 'build', 'host')

/** Builds the host tests and benchmark driver; returns the build directory. */
export function buildHost(): string {
  requireTool('cmake', 'cmake')
  requireTool('g++', 'g++')
  requireFile('/usr/include/gtest/gtest.h', 'libgtest-dev libgmock-dev')
  requireFile('/usr/include/secp256k1_recovery.h', 'libsecp256k1-dev')
  const lock = join(FIRMWARE_DIR, 'build', 'host.lock')
  mkdirSync(HOST_BUILD_DIR, { recursive: true })
  runLocked(lock, 'cmake', ['-S', FIRMWARE_DIR, '-B', HOST_BUILD_DIR, '-DCMAKE_BUILD_TYPE=Release'])
  // Two jobs at most: the machine's two cores are shared.
  runLocked(lock, 'cmake', ['--build', HOST_BUILD_DIR, '-j2'])
  return HOST_BUILD_DIR
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildHost()
  const ctest = spawnSync('ctest', ['--test-dir', HOST_BUILD_DIR, '--output-on-failure', '-j2'], {
    stdio: 'inherit',
  })
  if (ctest.status !== 0) {
    throw new FirmwareBuildError(`ctest failed (status ${ctest.status ?? ctest.signal})`)
  }
}
