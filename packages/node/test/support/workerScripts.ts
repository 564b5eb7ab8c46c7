/**
 * The child-process programs in `workers/` and where their bundles are (see bundle.ts).
 */
import * as NodePath from "node:path"

/** The programs, by file name in `workers/` (common.ts is shared code, not a program). */
export const workerNames = ["put-worker", "buildkit-imitator", "reader"] as const

export type WorkerName = (typeof workerNames)[number]

/** The bundled program `name` in `dir`. */
export const workerScript = (dir: string, name: WorkerName): string => NodePath.join(dir, `${name}.mjs`)
