// The feature licences slice of the array agent contract.

export interface LicenseInfo {
  name: string;
  state: 'unlocked' | 'locked';
  unlocked?: string;
}

export interface LicenseAgent {
  listLicenses(): LicenseInfo[];
  unlockLicense(name: string): Promise<LicenseInfo[]>;
}
