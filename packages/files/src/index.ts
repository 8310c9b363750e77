/**
 * @tlog/files: the one place tlog writes files that must survive a crash or hold a secret.
 * Every write names its mode explicitly; nothing here depends on the process umask.
 */
export { createFileExclusive, syncDir, type WriteOptions, writeFileAtomic } from './atomic-write.js';
export { fileSlug } from './file-slug.js';
export { PUBLIC_FILE_MODE, SECRET_FILE_MODE, secretFileProblem } from './secret-file.js';
