/**
 * The version `ocidx --version` prints. A test keeps it equal to package.json's, so the bundle needs no
 * JSON import and start-up reads no file.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category constants
 */
export const version = "0.1.0"
