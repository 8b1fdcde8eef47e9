/** Hash routes: the node serves one static page, so the view lives in location.hash. */

export const ROUTES = [
  { path: '/', label: 'Live' },
  { path: '/energy', label: 'Energy' },
  { path: '/bills', label: 'Bills' },
  { path: '/home', label: 'Home' },
  { path: '/safety', label: 'Safety' },
  { path: '/privacy', label: 'Privacy' },
  { path: '/mesh', label: 'Neighbourhood' },
  { path: '/utility', label: 'Utility' },
] as const

export type RoutePath = (typeof ROUTES)[number]['path']

export function parseRoute(hash: string): RoutePath {
  const path = hash.replace(/^#/, '') || '/'
  return ROUTES.find((r) => r.path === path)?.path ?? '/'
}
