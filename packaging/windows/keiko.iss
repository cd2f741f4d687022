; Inno Setup script for Keiko Desktop: a per-user install (no administrator rights) of the
; PyInstaller bundle in dist\keiko, with Start menu and desktop shortcuts and an uninstaller.
; The uninstaller removes what setup installed; the user's chats and settings (in
; %LOCALAPPDATA%\Keiko and %APPDATA%\Keiko) stay. Built by packaging/ci/windows.yml:
;   iscc /DAppVersion=0.1.0 packaging\windows\keiko.iss

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6C1B8F5E-3A57-4D2E-9A7B-5E0C4B2D9F11}
AppName=Keiko
AppVersion={#AppVersion}
AppPublisher=Keiko Desktop
DefaultDirName={localappdata}\Programs\Keiko
DefaultGroupName=Keiko
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=Keiko-{#AppVersion}-setup
SetupIconFile=keiko.ico
UninstallDisplayIcon={app}\keiko.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
DisableProgramGroupPage=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Files]
Source: "..\..\dist\keiko\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Keiko"; Filename: "{app}\keiko.exe"
Name: "{group}\Uninstall Keiko"; Filename: "{uninstallexe}"
Name: "{userdesktop}\Keiko"; Filename: "{app}\keiko.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\keiko.exe"; Description: "{cm:LaunchProgram,Keiko}"; Flags: nowait postinstall skipifsilent
