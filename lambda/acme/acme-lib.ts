/**
 * acme-client, loaded module by module. Its index also loads the legacy node-forge API
 * (~290 KiB minified) that this project never calls; importing the client, crypto and axios
 * modules directly keeps it out of the Lambda bundle. Types come from the package itself.
 */
import type * as AcmeClient from 'acme-client';
// @ts-expect-error deep CommonJS module without its own typings; typed just below
import axiosModule from 'acme-client/src/axios.js';
// @ts-expect-error deep CommonJS module without its own typings; typed just below
import ClientModule from 'acme-client/src/client.js';
// @ts-expect-error deep CommonJS module without its own typings; typed just below
import * as cryptoModule from 'acme-client/src/crypto/index.js';
import { installCaGuard } from './ca-guard.js';

export const Client = ClientModule as typeof AcmeClient.Client;
export type Client = AcmeClient.Client;
export const acmeCrypto = cryptoModule as typeof AcmeClient.crypto;
export const acmeAxios = axiosModule as typeof AcmeClient.axios;
export type Order = AcmeClient.Order;
export type Authorization = AcmeClient.Authorization;

// Every client of this project goes through the guard: no in-process wait on a CA's
// Retry-After, a clear timeout instead of acme-client's TypeError (see ca-guard.ts).
installCaGuard(acmeAxios);
