// sqlite-attention for Node.js: the compiled sqlite-attention extension
// (version @VERSION@, built for @OS@-@CPU@) and two functions, as sqlite-vec's:
//
//   const Database = require("better-sqlite3");
//   const sqliteAttention = require("sqlite-attention");
//   const db = new Database(":memory:");
//   sqliteAttention.load(db);
//   db.prepare("SELECT attn_version() AS v").get().v;   // "@VERSION@"
//
// load(db) calls db.loadExtension(getLoadablePath()): a better-sqlite3
// database, or anything with that method.  getLoadablePath() is the
// extension's full path.
"use strict";

const fs = require("fs");
const path = require("path");

const SUFFIX = { darwin: "dylib", win32: "dll" }[process.platform] || "so";
const BUILT_FOR = "@OS@-@CPU@";

function getLoadablePath() {
  const file = path.join(__dirname, "attention." + SUFFIX);
  if (!fs.existsSync(file)) {
    throw new Error("sqlite-attention: " + file + " does not exist: this package " +
                    "was built for " + BUILT_FOR + ", and this is " +
                    process.platform + "-" + process.arch);
  }
  return file;
}

function load(db) {
  if (!db || typeof db.loadExtension !== "function") {
    throw new TypeError("sqlite-attention: load(db) needs a database with a " +
                        "loadExtension() method, such as a better-sqlite3 Database");
  }
  db.loadExtension(getLoadablePath());
}

const version = "@VERSION@";

module.exports = { getLoadablePath, load, version };
