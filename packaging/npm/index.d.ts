// Types of sqlite-attention (index.js).

/** The full path of the compiled extension in this package. */
export declare function getLoadablePath(): string;

/** Load the extension into db: db.loadExtension(getLoadablePath()). */
export declare function load(db: { loadExtension(file: string, ...rest: any[]): unknown }): void;

/** The extension's version, what attn_version() returns. */
export declare const version: string;
