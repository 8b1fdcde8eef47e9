/**
 * The entry. The live stream opens first (open-stream.ts is evaluated before the app's modules),
 * so the latest reading the node opens it with (docs/api.md, "Live stream") is on its way while
 * the shell and the views are being set up.
 */
import './open-stream.ts'
import './components/app.ts'
import { startInstalledApp } from './pwa/register.ts'

startInstalledApp()
