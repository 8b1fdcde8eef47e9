/**
 * The app's icons (docs/app.md), from one drawing: writes ui/public/icons/icon.svg (the source of
 * truth, a rounded tile) and renders the PNGs the manifest and iOS need with Debian's Chromium
 * through playwright-core, so the pictures are exactly what a browser draws from the SVG:
 *
 *   icon-192.png, icon-512.png      "any" purpose: the rounded tile on a transparent background
 *   icon-maskable-512.png           "maskable": the tile's colour to every edge; the glyph lies
 *                                   inside the central 80 % circle that Android's masks keep
 *   apple-touch-icon.png (180)      iOS rounds its corners itself and wants no transparency
 *
 * Run after changing the drawing: npx node tools/make-icons.ts (then commit the PNGs; the build
 * only copies them, it does not need a browser).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const OUT = fileURLToPath(new URL('../ui/public/icons/', import.meta.url))
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** The UI's accent (ui/index.html --accent) and its focus amber. */
const ACCENT = '#1f5fbf'
const AMBER = '#f0a202'

/**
 * A meter's dial (an open arc) with a lightning bolt: centred on (256, 272) with radius 150 plus
 * half the stroke, its farthest point is 180 px from the tile's centre, inside the maskable safe
 * circle of radius 204.8 px.
 */
const GLYPH = `<path d="M150 378A150 150 0 1 1 362 378" fill="none" stroke="#fff" stroke-width="36" stroke-linecap="round"/>
  <path d="M276 156 194 296h56l-18 96 86-150h-58z" fill="${AMBER}" stroke="${AMBER}" stroke-width="8" stroke-linejoin="round"/>`

function svg(corner: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" width="512" height="512">
  <title>zkmeter</title>
  <rect width="512" height="512" rx="${corner}" fill="${ACCENT}"/>
  ${GLYPH}
</svg>
`
}

const RENDERS: { file: string; size: number; corner: number }[] = [
  { file: 'icon-192.png', size: 192, corner: 112 },
  { file: 'icon-512.png', size: 512, corner: 112 },
  { file: 'icon-maskable-512.png', size: 512, corner: 0 },
  { file: 'apple-touch-icon.png', size: 180, corner: 0 },
]

await mkdir(OUT, { recursive: true })
await writeFile(join(OUT, 'icon.svg'), svg(112))
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
try {
  for (const { file, size, corner } of RENDERS) {
    const page = await browser.newPage({ viewport: { width: size, height: size }, deviceScaleFactor: 1 })
    const source = svg(corner).replace('width="512" height="512"', `width="${size}" height="${size}"`)
    await page.setContent(`<html><body style="margin:0;background:transparent">${source}</body></html>`)
    await writeFile(join(OUT, file), await page.screenshot({ omitBackground: true, type: 'png' }))
    await page.close()
    console.log(`${file}: ${size}×${size}`)
  }
} finally {
  await browser.close()
}
