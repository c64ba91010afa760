/**
 * The construct library's public entry point: `CertificateRenewer` and its props for the
 * workload account, `DnsZoneAccessRole` for a DNS account whose zones the renewer reaches by
 * assuming a role (`zoneRoles`).
 */
export * from './certificate-renewer.js';
export {
  DnsZoneAccessRole,
  type DnsZoneAccessRoleProps,
  dnsZoneAccessStatements,
  dnsZoneTrustStatement,
} from './dns-account-role.js';
export { RenewerAlarms, type RenewerAlarmsProps } from './renewer-alarms.js';
export { RenewerDashboard, type RenewerDashboardProps } from './renewer-dashboard.js';
export { RenewerStack, type RenewerStackProps } from './renewer-stack.js';
