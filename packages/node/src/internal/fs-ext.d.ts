/**
 * The part of fs-ext 2.1.1 (a native addon without its own types) that ocidx uses.
 *
 * @internal
 */
declare module "fs-ext" {
  /** flock(2) operation bits. */
  export const constants: {
    readonly LOCK_SH: number
    readonly LOCK_EX: number
    readonly LOCK_NB: number
    readonly LOCK_UN: number
  }

  /** flock(2) on the calling thread; throws an errno error (`code` "EAGAIN" when `LOCK_NB` finds it held). */
  export function flockSync(fd: number, operation: number): void
}
