/**
 * Opens the live stream as the first thing the page's code does (main.ts imports this first). A
 * code in the URL pairs this device first (the app starts the stream once paired), so no stream
 * request goes out without the session.
 */
import { stream } from './lib/stream.ts'

if (!/(^#|&)pair=/.test(location.hash)) stream.start()
