#!/usr/bin/env node
import { main } from "./dist/cli/run-cli.js";

process.exitCode = await main();
