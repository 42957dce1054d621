/** This package's version (reported in the reply to `leveret.describe`). */
export const VERSION = '0.1.0';
