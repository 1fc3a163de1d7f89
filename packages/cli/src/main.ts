import { CORE } from '@lockgate/core';
console.log(CORE, process.version);
